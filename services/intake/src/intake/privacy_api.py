"""Intake's personal-data routes: ask for an erasure, export a client's data, read a client's audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from clientbase.erasure.export import documents_of, export_route, privacy_gate, require_pii
from clientbase.erasure.kit import PublishRaw, publish_request
from clientbase.events.envelope import new_event_id, utc_now
from clientbase.events.inbound import ErasureRequested
from clientbase.json_api import ApiError, Request, Route

from intake.audit import AuditTrail, export_entry, request_entry
from intake.erasure import merged_clients
from intake.privacy import subject_of
from intake.records import fold, view_from_record
from intake.repository import IntakeRepository
from intake.settings import Settings
from intake.store import FACTS, IDENTITIES, REGISTRATIONS

SERVICE = "intake"
ERASURE_BODY = {"type": "object", "required": ["requested_by", "legal_basis"], "properties": {
    "client_id": {"type": "string", "description": "The client; or give `phone` or `email` instead."},
    "phone": {"type": "string", "description": "A phone number of the client, any local format."},
    "email": {"type": "string", "description": "An email address of the client."},
    "requested_by": {"type": "string", "description": "Who asks (an operator's login)."},
    "legal_basis": {"type": "string", "description": "Why, e.g. gdpr-art-17 or 152-fz-art-21."},
    "reference": {"type": "string", "description": "The request's ticket or case number."}}}


class PrivacyRoutes:
    """Erasure requests, exports and audit reads over intake's database."""

    def __init__(self, settings: Settings, repository: Callable[[], IntakeRepository], publish: PublishRaw) -> None:
        self.settings, self.repository, self.publish = settings, repository, publish

    async def erase(self, request: Request) -> tuple[int, Any]:
        """POST /clients/erasure-requests: resolve the client here, publish the request naming it and its merges."""
        require_pii(request)
        body = request.body if isinstance(request.body, dict) else {}
        try:
            asked = ErasureRequested.model_validate({"event_id": new_event_id(), "occurred_at": utc_now(),
                                                     "source": "intake-api", **body, "merged_client_ids": []})
        except ValidationError as error:
            raise ApiError(422, "invalid_request", "the request does not fit the contract", errors=[
                {"loc": list(e["loc"]), "type": e["type"]} for e in error.errors(include_input=False)]) from None
        repo = self.repository()
        client_id = await subject_of(repo, asked, self.settings.policy().default_region)
        if client_id is None or not await repo.is_registered(client_id):
            raise ApiError(404, "client_not_found", "no client has this id or contact point")
        merged = await merged_clients(repo, [client_id])
        event = asked.model_copy(update={"client_id": client_id, "phone": None, "email": None,
                                         "merged_client_ids": [m for m in merged if m != client_id]})
        await AuditTrail(repo.db).append([{**request_entry(asked, "asked"), "_id": f"asked:{event.event_id}",
                                           "kind": "erasure_asked", "client_id": client_id,
                                           "token_id": request.caller.token_id}])
        await publish_request(self.publish, self.settings.topic_prefix, event)
        return 202, {"status": "accepted", "event_id": event.event_id, "client_id": client_id,
                     "merged_client_ids": event.merged_client_ids, "outcome_topic": "clients.erased"}

    async def collect(self, client_id: str) -> dict[str, list[dict[str, Any]]]:
        """What intake holds about the client: its record, lead history, identity claims and registration."""
        repo = self.repository()
        fragments = await repo.fragments(client_id)
        data = await documents_of(lambda: repo.db, {FACTS: "client_id", IDENTITIES: "client_id",
                                                    REGISTRATIONS: "_id"})(client_id)
        return {"client": [view_from_record(fold(client_id, fragments))] if fragments else [], **data}

    async def witness(self, request: Request, client_id: str) -> None:
        """Record the export in the audit trail."""
        await AuditTrail(self.repository().db).append([export_entry(
            client_id, request.one("requested_by") or request.caller.token_id, request.one("legal_basis"),
            request.caller.token_id)])

    async def audit(self, request: Request) -> tuple[int, Any]:
        """GET /clients/{client_id}/audit: every erasure and export of the client and what each service did."""
        client_id = request.params["client_id"]
        return 200, {"client_id": client_id, "entries": await AuditTrail(self.repository().db).of_client(client_id)}

    def routes(self) -> list[Route]:
        """The routes, each behind PRIVACY_API_TOKEN."""
        gate = privacy_gate(self.settings.privacy)
        return [
            Route("POST", "/clients/erasure-requests", self.erase,
                  "Ask to erase a client's personal data in every service (published to clients.erasure-requested).",
                  body=ERASURE_BODY, gate=gate, responses={
                      202: "Accepted; each service reports on clients.erased.", 403: "The token lacks `pii`.",
                      404: "No such client.", 422: "The request does not fit the contract."}),
            export_route(SERVICE, lambda: self.repository().db, self.collect, gate, self.witness),
            Route("GET", "/clients/{client_id}/audit", self.audit,
                  "The client's audit trail: erasure requests, exports, and what each service erased.", gate=gate),
        ]

