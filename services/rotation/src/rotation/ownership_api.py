"""The ownership API: who owns a client and why, its assignment history, and manual reassignment by a head of sales.

The JSON twins of `clientbase-rotation history`; a reassignment request is published to
`clients.reassign-requested`, so the HTTP call and an outside producer take the same path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from clientbase import topics
from clientbase.api_tokens import TokenGate
from clientbase.erasure.export import documents_of, export_route, privacy_gate
from clientbase.events.envelope import new_event_id, utc_now
from clientbase.events.inbound import ReassignRequested
from clientbase.json_api import ApiError, JsonApi, Request, Route
from clientbase.masking import mask_value

from rotation.erasure import EXPORTED
from rotation.repository import MERGED, RotationRepository
from rotation.settings import Settings

SERVICE = "rotation"
MAX_MERGE_CHAIN = 50
REASSIGN_BODY = {"type": "object", "required": ["manager_id", "requested_by"], "properties": {
    "manager_id": {"type": "string", "description": "The manager who should own the client."},
    "requested_by": {"type": "string", "description": "Who asks (a head of sales)."},
    "reason_text": {"type": "string", "description": "Why, in the requester's words."},
    "event_id": {"type": "string", "description": "Optional idempotency key; a repeat with it is harmless."}}}



Publish = Callable[..., Awaitable[Any]]


def shown(request: Request, answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as the caller may see it: free text (a head's reason may quote a phone) masked without `pii`."""
    return answer if request.caller.sees_pii else mask_value("answer", answer)


def owner_view(doc: dict[str, Any], handover: dict[str, Any] | None) -> dict[str, Any]:
    """Who owns the client, since when and why, and the handover still waiting for its report."""
    assignment = doc.get("assignment") or {}
    return {
        "status": doc.get("status"), "manager_id": doc.get("manager_id"), "since": doc.get("assigned_at"),
        "reason": assignment.get("reason"), "previous_manager_id": assignment.get("previous_manager_id"),
        "rule_version": assignment.get("rule_version"), "epoch": doc.get("epoch"),
        "decision": assignment.get("decision"), "last_deferral": doc.get("last_deferral"),
        "open_handover": None if handover is None else {
            k: handover.get(k) for k in ("manager_id", "previous_manager_id", "deadline", "status", "escalated_at")},
    }


class Ownership:
    """Answers ownership questions from rotation's database and publishes manual reassignment requests."""

    def __init__(self, repository: Callable[[], RotationRepository], publish: Publish, prefix: str = "") -> None:
        self.repository = repository
        self.publish, self.prefix = publish, prefix

    async def current(self, client_id: str) -> tuple[str, dict[str, Any]]:
        """The client's ownership document, following merges to the survivor; 404 when rotation never saw it."""
        repo, current = self.repository(), client_id
        for _ in range(MAX_MERGE_CHAIN):
            doc = await repo.client(current)
            if doc is None:
                raise ApiError(404, "client_not_found", "rotation has no such client")
            if doc.get("status") != MERGED or not doc.get("merged_into"):
                return current, doc
            current = doc["merged_into"]
        return current, doc

    async def owner(self, request: Request) -> tuple[int, Any]:
        """GET /clients/{client_id}/owner"""
        asked = request.params["client_id"]
        client_id, doc = await self.current(asked)
        handover = await self.repository().open_handover(client_id, doc.get("epoch", 0))
        return 200, shown(request, {"client_id": client_id, "requested_client_id": asked,
                                    "merged": client_id != asked, **owner_view(doc, handover)})

    async def history(self, request: Request) -> tuple[int, Any]:
        """GET /clients/{client_id}/history: every assignment with reason and inputs, and every deferral."""
        client_id = request.params["client_id"]
        assignments, deferrals = await self.repository().history(client_id)
        if not assignments and not deferrals:
            raise ApiError(404, "client_not_found", "no assignment recorded for this client")
        return 200, shown(request, {"client_id": client_id, "assignments": assignments, "deferrals": deferrals})

    async def reassign(self, request: Request) -> tuple[int, Any]:
        """POST /clients/{client_id}/reassign: publish the request; the outcome follows on clients.assigned or
        clients.reassign-refused."""
        body = request.body if isinstance(request.body, dict) else {}
        try:
            event = ReassignRequested.model_validate({
                "event_id": new_event_id(), "occurred_at": utc_now(), "source": "rotation-api", **body,
                "client_id": request.params["client_id"]})
        except ValidationError as error:
            raise ApiError(422, "invalid_request", "the request does not fit the contract", errors=[
                {"loc": list(e["loc"]), "type": e["type"]} for e in error.errors(include_input=False)]) from None
        topic = topics.CLIENTS_REASSIGN_REQUESTED
        await self.publish(event.model_dump_json().encode(), self.prefix + topic.name, key=event.client_id.encode(),
                           headers={"event_id": event.event_id, "content-type": "application/json"})
        return 202, {"status": "accepted", "event_id": event.event_id, "topic": topic.name,
                     "outcome_topics": [topics.CLIENTS_ASSIGNED.name, topics.CLIENTS_REASSIGN_REFUSED.name]}


def ownership_api(settings: Settings, repository: Callable[[], RotationRepository], publish: Publish) -> JsonApi:
    """The ownership API under /clients, behind ROTATION_API_TOKEN; the export behind PRIVACY_API_TOKEN."""
    ownership = Ownership(repository, publish, settings.topic_prefix)
    database = lambda: repository().db  # noqa: E731 - resolved per request, after startup
    known = {200: "OK", 404: "Rotation has no such client."}
    return JsonApi(SERVICE, "/clients", TokenGate("ROTATION_API_TOKEN", settings.api_token), [
        Route("GET", "/clients/{client_id}/owner", ownership.owner,
              "Who owns the client, since when, why, and the open handover; a merged id answers with the survivor.",
              responses=known),
        Route("GET", "/clients/{client_id}/history", ownership.history,
              "Every assignment of the client with its reason and inputs, and every deferred rotation.",
              responses=known),
        Route("POST", "/clients/{client_id}/reassign", ownership.reassign,
              "Ask to move the client to a named manager (published to clients.reassign-requested).",
              body=REASSIGN_BODY, responses={202: "Accepted; the outcome is published on clients.assigned "
                                             "(reason manual) or clients.reassign-refused.",
                                             422: "The request does not fit the contract."}),
        export_route(SERVICE, database, documents_of(database, EXPORTED), privacy_gate(settings.privacy)),
    ])
