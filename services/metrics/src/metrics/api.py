"""The read API on the metrics port: bearer-token JSON endpoints over the active generation's figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from itertools import islice
from typing import Any
from urllib.parse import parse_qs

from clientbase.bearer import bearer_authorized, check_token_configured, refuse, respond

from metrics.periods import PERIOD_KINDS, period_starts
from metrics.reader import HistoryReader
from metrics.schemas import openapi_document
from metrics.settings import Settings

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class BadRequest(Exception):
    """A parameter is missing or wrong; the message is the reason given to the caller."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_day(query: dict[str, list[str]], name: str) -> date:
    """A required YYYY-MM-DD query parameter."""
    values = query.get(name)
    if not values:
        raise BadRequest(name, "required, YYYY-MM-DD")
    try:
        return date.fromisoformat(values[0])
    except ValueError:
        raise BadRequest(name, "not a date in the form YYYY-MM-DD") from None


def parse_range(query: dict[str, list[str]]) -> tuple[date, date]:
    """The from/to parameters; from must come before to."""
    first, before = parse_day(query, "from"), parse_day(query, "to")
    if first >= before:
        raise BadRequest("to", "must be after from")
    return first, before


class ReadApi:
    """Routes of the read API, each an ASGI app mounted on the service's app."""

    def __init__(self, settings: Settings, reader: Callable[[], HistoryReader]) -> None:
        self.settings = settings
        self.reader = reader
        self.zone = settings.zone()

    def check_configured(self) -> None:
        """Refuse to start without a token unless the local-dev flag allows it."""
        check_token_configured(self.settings.api_token, self.settings.api_allow_no_token, "METRICS_API_TOKEN")

    def authorized(self, scope: Scope) -> bool:
        """Whether the request carries the configured bearer token."""
        return bearer_authorized(scope, self.settings.api_token, allow_no_token=self.settings.api_allow_no_token)

    def route(self, answer: Callable[[dict[str, list[str]]], Awaitable[dict[str, Any]]], public: bool = False) -> Asgi:
        """An ASGI app answering GET with `answer(query)`, behind the token."""
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope.get("method") != "GET":
                await respond(send, 405, {"detail": "method not allowed"})
                return
            if not public and not self.authorized(scope):
                await refuse(send)
                return
            query = parse_qs(scope.get("query_string", b"").decode(), keep_blank_values=True)
            try:
                payload = await answer(query)
            except BadRequest as error:
                await respond(send, 422, {"detail": [{"loc": ["query", error.field], "msg": str(error)}]})
                return
            await respond(send, 200, payload)
        return app

    def parse_periods(self, query: dict[str, list[str]]) -> tuple[Any, date, date]:
        """The period kind and the from/to range, at most `max_periods` periods long."""
        period = (query.get("period") or [""])[0]
        if period not in PERIOD_KINDS:
            raise BadRequest("period", "one of week, month, quarter, year")
        first, before = parse_range(query)
        if len(list(islice(period_starts(period, first, before), self.settings.max_periods + 1))) \
                > self.settings.max_periods:
            raise BadRequest("to", f"more than {self.settings.max_periods} periods")
        return period, first, before

    async def retention(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """GET /metrics/retention?period=…&from=…&to=…"""
        period, first, before = self.parse_periods(query)
        _, _, history = await self.reader().current()
        items = history.retention(period, first, before, self.zone, self.settings.rules())
        return {"period": period, "from": first.isoformat(), "to": before.isoformat(),
                "timezone": self.settings.timezone, "items": items}

    async def managers(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """GET /metrics/managers?from=…&to=…"""
        first, before = parse_range(query)
        _, _, history = await self.reader().current()
        return {"from": first.isoformat(), "to": before.isoformat(), "timezone": self.settings.timezone,
                "items": history.managers(first, before, self.zone)}

    async def sources(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """GET /metrics/sources?from=…&to=…"""
        first, before = parse_range(query)
        _, _, history = await self.reader().current()
        return {"from": first.isoformat(), "to": before.isoformat(), "timezone": self.settings.timezone,
                "items": history.sources(first, before, self.zone)}

    async def openapi(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """GET /metrics/openapi.json"""
        return openapi_document()

    def routes(self) -> list[tuple[str, Asgi]]:
        """The (path, app) pairs to mount."""
        return [("/metrics/retention", self.route(self.retention)), ("/metrics/managers", self.route(self.managers)),
                ("/metrics/sources", self.route(self.sources)),
                ("/metrics/openapi.json", self.route(self.openapi, public=True))]
