"""Intake's use cases for personal-data requests: resolve and erase, and keep the audit trail of every service."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from clientbase import topics
from clientbase.erasure.kit import ErasureKit, PublishRaw, parse_requests, publish_request
from clientbase.events.envelope import derived_event_id
from clientbase.events.inbound import ErasureRequested
from clientbase.events.outbound import ClientErased
from clientbase.kafka.reliability import Delivery

from intake.audit import AuditTrail, erased_entry, request_entry
from intake.domain import email_key, phone_key
from intake.erasure import IntakeEraser, merged_clients
from intake.normalize import normalize_email, normalize_phone
from intake.repository import IntakeRepository
from intake.service import Publisher

log = structlog.get_logger(__name__)
SERVICE = "intake"


async def subject_of(repo: IntakeRepository, request: ErasureRequested, default_region: str | None) -> str | None:
    """The client a request names: its id, else the owner of its phone or email (following merges), else None."""
    if request.client_id:
        return await repo.resolve(request.client_id)
    if request.phone and (phone := normalize_phone(request.phone, default_region)):
        return await repo.owner_of(phone_key(phone.e164))
    if request.email and (email := normalize_email(request.email)):
        return await repo.owner_of(email_key(email))
    return None


def resolved(request: ErasureRequested, client_id: str, merged: Sequence[str]) -> ErasureRequested:
    """The request again, naming the client instead of the contact point, with the clients merged into it."""
    return ErasureRequested(
        event_id=derived_event_id(topics.CLIENTS_ERASURE_REQUESTED.name, "resolved", request.event_id),
        occurred_at=request.occurred_at, correlation_id=request.correlation_id or request.event_id,
        source=SERVICE, client_id=client_id, merged_client_ids=[m for m in merged if m != client_id],
        requested_by=request.requested_by, legal_basis=request.legal_basis, reference=request.reference,
        resolved_from=request.event_id)


class IntakePrivacy:
    """Handles `clients.erasure-requested` and `clients.erased` batches for intake."""

    def __init__(self, repo: IntakeRepository, eraser: IntakeEraser, publisher: Publisher, publish_raw: PublishRaw,
                 *, default_region: str | None, topic_prefix: str = "") -> None:
        self.repo, self.eraser, self.default_region = repo, eraser, default_region
        self.kit = ErasureKit(SERVICE, repo.db, publisher)
        self.audit = AuditTrail(repo.db)
        self.publish_raw, self.prefix = publish_raw, topic_prefix

    async def handle(self, batch: Sequence[Delivery], topic_of: dict[str, topics.Topic]) -> None:
        """Record and act on erasure requests; record what every service reports."""
        requests = [d for d in batch if topic_of[d.topic] is topics.CLIENTS_ERASURE_REQUESTED]
        reports = [d for d in batch if topic_of[d.topic] is topics.CLIENTS_ERASED]
        if requests:
            await self.requests(requests)
        if reports:
            await self.audit.append([erased_entry(ClientErased.model_validate_json(d.body)) for d in reports])

    async def requests(self, batch: Sequence[Delivery]) -> None:
        """Resolve contact-point requests (republished with the client id), erase the ones naming a client."""
        parsed = parse_requests(batch)
        entries, again = [], []
        for request in parsed:
            if request.client_id:
                entries.append(request_entry(request))
                continue
            client_id = await subject_of(self.repo, request, self.default_region)
            if client_id is None:
                entries.append(request_entry(request, "no_such_client"))
                continue
            merged = await merged_clients(self.repo, [client_id])
            again.append(resolved(request, client_id, list(merged)))
            entries.append({**request_entry(request, "resolved"), "client_id": client_id})
        await self.audit.append(entries)
        await asyncio.gather(*(publish_request(self.publish_raw, self.prefix, r) for r in again))
        await self.kit.handle([d for d, r in zip(batch, parsed, strict=True) if r.client_id], self.eraser.erase)
        log.info("intake.erasure_requests", requests=len(parsed), resolved=len(again))
