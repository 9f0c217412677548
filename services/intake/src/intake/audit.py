"""The audit trail of erasures and exports: who asked, when, on what basis, what each service did; no personal data.

It lives in intake's `audit` collection and survives the erasure it records: entries name the client only by
its id (which, once erased, leads to no personal data anywhere) and never the contact point a request named.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from clientbase.events.envelope import new_event_id, utc_now
from clientbase.events.inbound import ErasureRequested
from clientbase.events.outbound import ClientErased
from clientbase.mongo import IndexSpec
from clientbase.mongo_writes import insert_new

AUDIT = "audit"
AUDIT_INDEXES = (IndexSpec(AUDIT, [("client_id", 1), ("at", 1)], name="audit_by_client"),)


def request_entry(request: ErasureRequested, outcome: str = "accepted") -> dict[str, Any]:
    """The audit entry of an erasure request: the subject by kind only, never the contact point itself."""
    return {"_id": f"request:{request.event_id}:{outcome}", "kind": "erasure_requested", "outcome": outcome,
            "request_event_id": request.event_id, "client_id": request.client_id,
            "merged_client_ids": list(request.merged_client_ids),
            "subject": "client_id" if request.client_id else ("phone" if request.phone else "email"),
            "requested_by": request.requested_by, "legal_basis": request.legal_basis,
            "reference": request.reference, "source": request.source, "resolved_from": request.resolved_from,
            "at": request.occurred_at, "recorded_at": utc_now()}


def erased_entry(event: ClientErased) -> dict[str, Any]:
    """The audit entry of what one service did for one request."""
    return {"_id": f"erased:{event.event_id}", "kind": "erased", "request_event_id": event.request_event_id,
            "client_id": event.client_id, "service": event.service, "collections": dict(event.collections),
            "documents": event.documents, "requested_by": event.requested_by, "legal_basis": event.legal_basis,
            "at": event.occurred_at, "recorded_at": utc_now()}


def export_entry(client_id: str, requested_by: str, legal_basis: str | None, token_id: str) -> dict[str, Any]:
    """The audit entry of an export (subject access request)."""
    return {"_id": f"export:{new_event_id()}", "kind": "export", "client_id": client_id,
            "requested_by": requested_by, "legal_basis": legal_basis, "token_id": token_id,
            "at": utc_now(), "recorded_at": utc_now()}


class AuditTrail:
    """Appends audit entries (deterministic ids, so a redelivery adds nothing) and reads a client's."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[AUDIT]

    async def append(self, entries: list[dict[str, Any]]) -> None:
        """Append entries; one already there stays as it was."""
        await insert_new(self.collection, entries)

    async def of_client(self, client_id: str) -> list[dict[str, Any]]:
        """A client's audit entries, oldest first."""
        found = await self.collection.find({"client_id": client_id}).to_list()
        return sorted(found, key=lambda e: (e["at"], e["_id"]))
