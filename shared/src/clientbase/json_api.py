"""A small token-protected JSON API over ASGI: routes with path parameters, call logging, an OpenAPI document.

Every call is logged with the route's template (never the query values, which may hold a phone number or an
email), the status, the caller's token fingerprint and the duration.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs

import structlog

from clientbase.api_tokens import PII_SCOPE, Caller, TokenGate
from clientbase.http import PayloadTooLarge, read_body

log = structlog.get_logger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
MAX_BODY_BYTES = 65536


class ApiError(Exception):
    """An answer other than 200: its status, machine-readable code and message."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra

    def payload(self) -> dict[str, Any]:
        """The JSON body of the error answer."""
        return {"error": self.code, "detail": str(self), **self.extra}


@dataclass(frozen=True)
class Request:
    """What a route's handler sees: path parameters, query, JSON body and the caller."""

    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any
    caller: Caller

    def one(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None


Handler = Callable[[Request], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path template such as `/clients/{client_id}/owner`, handler and documentation."""

    method: str
    template: str
    handler: Handler
    summary: str
    query: tuple[tuple[str, str], ...] = ()
    body: dict[str, Any] | None = None
    pii: bool = False
    responses: dict[int, str] = field(default_factory=lambda: {200: "OK"})
    gate: TokenGate | None = None  # a route with a gate of its own (the personal-data routes) ignores the API's


    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when the path fits the template, else None."""
        want, got = self.template.strip("/").split("/"), path.strip("/").split("/")
        if len(want) != len(got):
            return None
        params: dict[str, str] = {}
        for pattern, part in zip(want, got, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not part:
                    return None
                params[pattern[1:-1]] = part
            elif pattern != part:
                return None
        return params


def to_json(value: Any) -> Any:
    """JSON encoding of dates and other values the standard encoder does not know."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


async def respond(send: Send, status: int, payload: Any, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Send a JSON response."""
    body = json.dumps(payload, ensure_ascii=False, default=to_json).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class JsonApi:
    """An ASGI app serving a service's token-protected routes, mounted under one path prefix."""

    def __init__(self, service: str, prefix: str, gate: TokenGate, routes: Sequence[Route]) -> None:
        self.service, self.prefix, self.gate, self.routes = service, prefix.rstrip("/"), gate, list(routes)

    def mounts(self) -> list[tuple[str, Any]]:
        """The (path, app) pairs for the service app: the prefix itself, everything under it, the OpenAPI document."""
        return [(self.prefix + "/openapi.json", self.openapi_app), (self.prefix, self), (self.prefix + "/", self)]

    async def openapi_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the OpenAPI document (public, like every service's AsyncAPI page)."""
        await respond(send, 200, self.openapi())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authorize, route, run the handler, answer and log the call."""
        started = time.perf_counter()
        method, path = scope.get("method", "GET"), scope.get("path", "")
        route, params, caller, status = None, None, None, 500
        try:
            route, params = self.find(method, path)
            gate = route.gate or self.gate
            if not gate.configured:
                raise ApiError(503, "api_token_not_configured", f"{gate.setting_name} is not set")
            caller = gate.caller(scope.get("headers") or [])
            if caller is None:
                raise ApiError(401, "unauthorized", "missing or unknown bearer token")
            body = await self.read_json(receive) if method == "POST" else None
            query = parse_qs(scope.get("query_string", b"").decode(), keep_blank_values=True)
            status, payload = await route.handler(Request(params, query, body, caller))
        except ApiError as error:
            status, payload = error.status, error.payload()
        headers = ((b"www-authenticate", b"Bearer"),) if status == 401 else ()
        await respond(send, status, payload, headers)
        log.info("api.call", service=self.service, method=method,
                 route=route.template if route else self.prefix + "/…", client_id=(params or {}).get("client_id"),
                 query_keys=sorted(parse_qs(scope.get("query_string", b"").decode())), status=status,
                 token_id=caller.token_id if caller else None, pii=bool(caller and caller.sees_pii),
                 duration_ms=round((time.perf_counter() - started) * 1000, 1))

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and path parameters of a request; 404 or 405 when none fits."""
        fitting = [(r, p) for r in self.routes if (p := r.match(path)) is not None]
        if not fitting:
            raise ApiError(404, "not_found", "no such endpoint")
        for route, params in fitting:
            if route.method == method:
                return route, params
        raise ApiError(405, "method_not_allowed", f"use {', '.join(sorted({r.method for r, _ in fitting}))}")

    @staticmethod
    async def read_json(receive: Receive) -> Any:
        """The request's JSON body; 413 or 422 when it is too large or not JSON."""
        try:
            raw = await read_body(receive, MAX_BODY_BYTES)
        except PayloadTooLarge:
            raise ApiError(413, "payload_too_large", f"at most {MAX_BODY_BYTES} bytes") from None
        try:
            return json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(422, "invalid_json", "the body is not JSON") from None

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the routes."""
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            parameters = [{"name": name[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
                          for name in route.template.split("/") if name.startswith("{")]
            parameters += [{"name": name, "in": "query", "required": False, "schema": {"type": "string"},
                            "description": text} for name, text in route.query]
            operation: dict[str, Any] = {
                "summary": route.summary, "parameters": parameters, "security": [{"bearer": []}],
                "responses": {str(code): {"description": text} for code, text in {
                    **route.responses, 401: "Missing or unknown bearer token.",
                    503: f"{(route.gate or self.gate).setting_name} is not set."}.items()},
            }
            if route.pii:
                operation["description"] = (f"Contact points are shown in full only to a token with the "
                                            f"`{PII_SCOPE}` scope; other tokens see them masked.")
            if route.body is not None:
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": route.body}}}
            paths.setdefault(route.template, {})[route.method.lower()] = operation
        return {"openapi": "3.1.0", "info": {"title": f"ClientBase {self.service} API", "version": "1.0.0"},
                "paths": paths, "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}
