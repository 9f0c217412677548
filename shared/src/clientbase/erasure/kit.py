"""What every service does with a batch of erasure requests around its own eraser: mark, report, publish."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import structlog
from pymongo.asynchronous.database import AsyncDatabase

from clientbase import topics
from clientbase.events.envelope import Envelope, derived_event_id, utc_now
from clientbase.events.inbound import ErasureRequested
from clientbase.events.outbound import ClientErased
from clientbase.kafka.reliability import Delivery
from clientbase.mongo_writes import insert_new
from clientbase.topics import Topic

log = structlog.get_logger(__name__)

ERASURES = "erasures"  # one mark per erased client id: exports answer `erased`, the mark holds no personal data

Report = dict[str, dict[str, int]]  # client id -> collection -> documents touched
Eraser = Callable[[Sequence[str]], Awaitable[Report]]
PublishRaw = Callable[..., Awaitable[Any]]


class Publisher(Protocol):
    async def publish_all(self, items: Sequence[tuple[Topic, Envelope, str]]) -> None:
        """Publish several events, acks awaited together."""


def count_touched(report: Report, client_id: str, collection: str, documents: int = 1) -> None:
    """Add touched documents of a collection to a client's entry of a report."""
    counts = report.setdefault(client_id, {})
    counts[collection] = counts.get(collection, 0) + documents


async def publish_request(publish: PublishRaw, prefix: str, request: ErasureRequested) -> None:
    """Publish an erasure request, keyed by its client id (never by a contact point)."""
    await publish(request.model_dump_json().encode(), prefix + topics.CLIENTS_ERASURE_REQUESTED.name,
                  key=(request.client_id or request.event_id).encode(),
                  headers={"event_id": request.event_id, "content-type": "application/json"})


def parse_requests(batch: Sequence[Delivery]) -> list[ErasureRequested]:
    """The erasure requests of a batch; a record that is not one raises (and goes to the dead-letter topic alone)."""
    return [ErasureRequested.model_validate_json(d.body) for d in batch]


def erased_event(service: str, request: ErasureRequested, report: Mapping[str, Mapping[str, int]],
                 marked: int) -> ClientErased:
    """What one service did for one request, with a deterministic id so a redelivery republishes the same event."""
    collections: dict[str, int] = {}
    for client_id in request.client_ids():
        for name, count in report.get(client_id, {}).items():
            collections[name] = collections.get(name, 0) + count
    if marked:
        collections[ERASURES] = collections.get(ERASURES, 0) + marked
    return ClientErased.create(
        source=service, correlation_id=request.correlation_id or request.event_id, causation_id=request.event_id,
        event_id=derived_event_id(topics.CLIENTS_ERASED.name, service, request.event_id),
        request_event_id=request.event_id, client_id=request.client_id or "", service=service,
        collections=collections, documents=sum(collections.values()), requested_by=request.requested_by,
        legal_basis=request.legal_basis)


class ErasureKit:
    """Runs a service's eraser over a batch of requests that name a client, marks the clients, reports each request."""

    def __init__(self, service: str, db: AsyncDatabase[dict[str, Any]], publisher: Publisher) -> None:
        self.service, self.db, self.publisher = service, db, publisher

    async def handle(self, batch: Sequence[Delivery], eraser: Eraser) -> list[ClientErased]:
        """Erase every client the batch's requests name (contact-point requests wait for intake to resolve them)."""
        requests = [r for r in parse_requests(batch) if r.client_id]
        if not requests:
            return []
        client_ids = sorted({c for r in requests for c in r.client_ids()})
        report = await eraser(client_ids)
        fresh = await self.mark(requests)
        events = [erased_event(self.service, r, report, sum(1 for c in r.client_ids() if c in fresh))
                  for r in requests]
        await self.publisher.publish_all([(topics.CLIENTS_ERASED, e, e.client_id) for e in events])
        log.info("erasure.done", service=self.service, requests=len(requests), clients=len(client_ids),
                 documents=sum(e.documents for e in events))
        return events

    async def mark(self, requests: Sequence[ErasureRequested]) -> set[str]:
        """Mark each client erased (the first request wins); return the ids marked now."""
        now = utc_now()
        marks = {c: {"_id": c, "request_event_id": r.event_id, "erased_at": now}
                 for r in requests for c in r.client_ids()}
        existed = await insert_new(self.db[ERASURES], list(marks.values()))
        return set(marks) - existed


async def erased_at(db: AsyncDatabase[dict[str, Any]], client_id: str) -> datetime | None:
    """When a client was erased in this service's database, or None."""
    mark = await db[ERASURES].find_one({"_id": client_id})
    return mark["erased_at"] if mark else None
