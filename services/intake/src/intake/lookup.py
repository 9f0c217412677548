"""The lookup API: find a client's id by a phone or email in any local format, or read a client's current record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from clientbase.api_tokens import TokenGate
from clientbase.erasure.kit import erased_at
from clientbase.json_api import ApiError, JsonApi, Request, Route
from clientbase.masking import mask_value

from intake.domain import email_key, phone_key
from intake.normalize import normalize_email, normalize_phone
from intake.records import fold, view_from_record
from intake.repository import IntakeRepository
from intake.settings import Settings

SERVICE = "intake"


def shown(view: dict[str, Any], pii: bool) -> dict[str, Any]:
    """The client view as a caller may see it: in full with the `pii` scope, contact points masked otherwise."""
    return view if pii else mask_value("client", view)


class ClientLookup:
    """Answers lookups from intake's identity claims and client facts, following merges to the survivor."""

    def __init__(self, settings: Settings, repository: Callable[[], IntakeRepository]) -> None:
        self.default_region = settings.policy().default_region
        self.repository = repository

    def repo(self) -> IntakeRepository:
        """The repository on the running app's database."""
        return self.repository()

    async def record(self, client_id: str) -> dict[str, Any] | None:
        """The current view of a client, or None when intake never registered it."""
        fragments = await self.repo().fragments(client_id)
        return view_from_record(fold(client_id, fragments)) if fragments else None

    async def by_contact(self, request: Request) -> tuple[int, Any]:
        """GET /clients?phone=… or ?email=… (optionally &region=XX for numbers without a country code)."""
        phone, email = request.one("phone"), request.one("email")
        if bool(phone) == bool(email):
            raise ApiError(422, "one_contact_required", "give exactly one of phone or email")
        if phone:
            parsed = normalize_phone(phone, request.one("region") or self.default_region)
            if parsed is None:
                raise ApiError(422, "invalid_phone", "not a valid phone number")
            key = phone_key(parsed.e164)
        else:
            address = normalize_email(email)
            if address is None:
                raise ApiError(422, "invalid_email", "not a valid email address")
            key = email_key(address)
        owner = await self.repo().owner_of(key)
        view = await self.record(owner) if owner else None
        if view is None:
            raise ApiError(404, "client_not_found", "no client has this contact point")
        return 200, {"client_id": owner, "client": shown(view, request.caller.sees_pii)}

    async def by_id(self, request: Request) -> tuple[int, Any]:
        """GET /clients/{client_id}: the current record; a merged id answers with its survivor and says so."""
        asked = request.params["client_id"]
        survivor = await self.repo().resolve(asked)
        if await erased_at(self.repo().db, survivor):
            raise ApiError(404, "client_erased", "the client's personal data was erased")
        view = await self.record(survivor)
        if view is None:
            raise ApiError(404, "client_not_found", "no such client")
        return 200, {"client_id": survivor, "requested_client_id": asked, "merged": survivor != asked,
                     "client": shown(view, request.caller.sees_pii)}


def lookup_api(settings: Settings, repository: Callable[[], IntakeRepository],
               extra_routes: Sequence[Route] = ()) -> JsonApi:
    """The intake lookup API under /clients, behind INTAKE_API_TOKEN (routes with a gate of their own aside)."""
    lookup = ClientLookup(settings, repository)
    found = {200: "The client's id and current record.", 404: "No such client (or erased: `client_erased`).",
             422: "A parameter is invalid."}
    return JsonApi(SERVICE, "/clients", TokenGate("INTAKE_API_TOKEN", settings.api_token), [
        Route("GET", "/clients", lookup.by_contact, "Find a client by a phone number or an email address.",
              query=(("phone", "A phone number in any local format, e.g. 8 (912) 345-67-89."),
                     ("email", "An email address, any case."),
                     ("region", "ISO country for a number without a country code (default INTAKE_DEFAULT_REGION).")),
              pii=True, responses=found),
        Route("GET", "/clients/{client_id}", lookup.by_id,
              "A client's current record; a merged id answers with the survivor (`merged`: true).",
              pii=True, responses=found),
        *extra_routes,
    ])
