"""The subject access route every service serves: `GET /clients/{client_id}/export`, behind the `pii` scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from clientbase.api_tokens import PII_SCOPE, TokenGate
from clientbase.erasure.kit import erased_at
from clientbase.json_api import ApiError, Request, Route
from clientbase.settings import PrivacySettings

Collect = Callable[[str], Awaitable[dict[str, list[dict[str, Any]]]]]
Database = Callable[[], AsyncDatabase[dict[str, Any]]]
Witness = Callable[[Request, str], Awaitable[None]]
EXPORT_PATH = "/clients/{client_id}/export"


def privacy_gate(settings: PrivacySettings) -> TokenGate:
    """The gate of the personal-data routes: PRIVACY_API_TOKEN, the same setting in every service."""
    return TokenGate("PRIVACY_API_TOKEN", settings.api_token)


def require_pii(request: Request) -> None:
    """Refuse a caller whose token lacks the `pii` scope."""
    if not request.caller.sees_pii:
        raise ApiError(403, "pii_scope_required", f"this route needs a token with the `{PII_SCOPE}` scope")


def documents_of(db: Database, fields: Mapping[str, str]) -> Collect:
    """A collector that reads, per collection, the documents whose `field` is the client id."""
    async def collect(client_id: str) -> dict[str, list[dict[str, Any]]]:
        database = db()
        return {name: await database[name].find({field: client_id}).to_list() for name, field in fields.items()}
    return collect


def export_route(service: str, db: Database, collect: Collect, gate: TokenGate, witness: Witness | None = None) -> Route:
    """The export route of one service: the client's data it holds, or nothing once the client is erased."""
    async def export(request: Request) -> tuple[int, Any]:
        require_pii(request)
        client_id = request.params["client_id"]
        if witness is not None:
            await witness(request, client_id)
        erased = await erased_at(db(), client_id)
        data = {} if erased else {name: docs for name, docs in (await collect(client_id)).items() if docs}
        return 200, {"service": service, "client_id": client_id, "erased": erased is not None,
                     "erased_at": erased, "data": data}

    return Route("GET", EXPORT_PATH, export, f"Every personal datum {service} holds about the client (subject "
                 "access request); empty once the client is erased.", pii=True, gate=gate,
                 responses={200: "The client's data per collection.", 403: "The token lacks the `pii` scope."})
