"""Intake's use cases: turn a raw input into one client record or an attributed sale, reject and replay bad input."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from clientbase import topics
from clientbase.events.envelope import Envelope, derived_event_id
from clientbase.events.inbound import CallReceived, FormSubmitted, SaleRecorded
from clientbase.events.outbound import ClientMerged, ClientRegistered, ClientUpdated, LeadRejected
from clientbase.topics import Topic

from intake.domain import IntakePolicy, Lead, Rejected, candidate_client_id, missing_fields
from intake.identity import resolve_identity
from intake.leads import lead_from_call, lead_from_form
from intake.parsing import parse_inbound
from intake.records import fold, fragment_from_lead, view_from_record
from intake.repository import IntakeRepository
from intake.sales import attribute_sale

log = structlog.get_logger(__name__)

SOURCE = "intake"
MAX_RESOLUTION_ATTEMPTS = 10


class Publisher(Protocol):
    """What the service needs to send events (the runtime's EventPublisher)."""

    async def publish(self, topic: Topic, event: Envelope, *, key: str) -> None:
        """Publish one event."""


class ResolutionConflict(Exception):
    """Concurrent merges kept moving the lead's client; a redelivery will settle it."""


@dataclass
class Outcome:
    """What handling one input did: its kind, the client and the events published."""

    kind: str
    client_id: str | None = None
    events: list[tuple[Topic, Envelope, str]] = field(default_factory=list)


def quarantine_id_for(topic: Topic, raw: bytes) -> str:
    """A deterministic quarantine id, so the same rejected bytes are kept once."""
    return "q-" + derived_event_id("quarantine", topic.name, hashlib.sha256(raw).hexdigest())


class IntakeService:
    """The intake use cases over a repository and a publisher."""

    def __init__(self, repo: IntakeRepository, publisher: Publisher, policy: IntakePolicy, *,
                 max_payload_bytes: int = 65536, topic_prefix: str = "") -> None:
        self.repo = repo
        self.publisher = publisher
        self.policy = policy
        self.max_payload_bytes = max_payload_bytes
        self.topic_prefix = topic_prefix

    def topic(self, topic: Topic) -> Topic:
        """The topic as this deployment names it (a prefix isolates test runs)."""
        return dataclasses.replace(topic, name=self.topic_prefix + topic.name) if self.topic_prefix else topic

    async def ingest(self, topic: Topic, raw: bytes) -> Outcome:
        """Handle one raw inbound message; bad input is quarantined and reported, never raised."""
        try:
            return await self.process(topic, raw)
        except Rejected as rejected:
            return await self.reject(topic, raw, rejected)

    async def process(self, topic: Topic, raw: bytes) -> Outcome:
        """Handle one raw inbound message, raising Rejected for input that cannot be used."""
        if topic.name == topics.LEADS_FORM_SUBMITTED.name:
            form = parse_inbound(raw, FormSubmitted, max_bytes=self.max_payload_bytes)
            return await self.register_lead(lead_from_form(form, self.policy))
        if topic.name == topics.LEADS_CALL_RECEIVED.name:
            call = parse_inbound(raw, CallReceived, max_bytes=self.max_payload_bytes)
            return await self.register_lead(lead_from_call(call, self.policy))
        if topic.name == topics.SALES_RECORDED.name:
            sale = parse_inbound(raw, SaleRecorded, max_bytes=self.max_payload_bytes)
            client_id, events = await attribute_sale(self.repo, sale, self.policy, self.topic(topics.SALES_ATTRIBUTED))
            await self._publish(events)
            log.info("intake.sale_attributed", client_id=client_id, order_id=sale.order_id)
            return Outcome("attributed", client_id, events)
        raise ValueError(f"intake does not consume {topic.name}")

    async def register_lead(self, lead: Lead) -> Outcome:
        """Match a lead to its client (claiming identities, merging duplicates) and publish the snapshot."""
        for _ in range(MAX_RESOLUTION_ATTEMPTS):
            outcome = await self._try_register(lead)
            if outcome is not None:
                await self._publish(outcome.events)
                log.info("intake.lead_" + outcome.kind, client_id=outcome.client_id, source=lead.source_ref,
                         merged=len(outcome.events) - 1)
                return outcome
        raise ResolutionConflict(lead.lead_event_id)

    async def _try_register(self, lead: Lead) -> Outcome | None:
        """One attempt at resolving and applying a lead; None when a concurrent merge moved the target."""
        candidate = candidate_client_id(lead.lead_event_id, lead.occurred_at)
        owners: dict[str, str] = {}
        for key in lead.identity_keys():
            owners[key.key] = await self.repo.resolve(await self.repo.claim(key.key, candidate, lead.lead_event_id))
        weak_owners = {owners[k.key] for k in lead.identity_keys() if not k.strong} - {candidate}
        resolution = resolve_identity(lead, owners, await self.repo.known(weak_owners))
        survivor = resolution.survivor
        for loser in resolution.merged:
            if await self.repo.merge(loser, survivor, lead.lead_event_id) != survivor:
                return None  # a concurrent lead merged it elsewhere first: resolve again
            log.info("intake.clients_merged", client_id=survivor, merged_client_id=loser)
        merges = await self.repo.merges_by(lead.lead_event_id)
        for merge in merges:  # also repairs a crash between recording a merge and linking the records
            await self.repo.add_merged_client(merge["survivor"], merge["_id"], lead.lead_event_id)
        brand_new = survivor == candidate and not merges  # nothing stored for it yet, unless this is a redelivery
        facts = await self.repo.add_fragment(survivor, lead.lead_event_id,
                                             fragment_from_lead(lead, switchboard=resolution.switchboard),
                                             existing=[] if brand_new else None)
        registered = await self.repo.register(survivor, lead.lead_event_id) == lead.lead_event_id
        if await self.repo.resolve(survivor) != survivor:
            return None  # merged meanwhile; the fact stays in the survivor's record, so nothing is lost
        if resolution.switchboard:
            log.info("intake.switchboard_contact_added", client_id=survivor)
        events = [self._merged_event(m, lead) for m in merges if await self.repo.is_registered(m["_id"])]
        record = fold(survivor, await self.repo.expand(facts))
        events.append(self._snapshot_event(record, lead, registered))
        return Outcome("registered" if registered else "updated", survivor, events)

    def _merged_event(self, merge: dict[str, Any], lead: Lead) -> tuple[Topic, Envelope, str]:
        """The `clients.merged` event for a merge this lead caused."""
        event = ClientMerged.create(
            source=SOURCE, correlation_id=lead.lead_event_id, causation_id=lead.lead_event_id,
            event_id=derived_event_id(lead.lead_event_id, "client-merged", merge["_id"]),
            occurred_at=lead.occurred_at, client_id=merge["survivor"], merged_client_id=merge["_id"],
            lead_event_id=lead.lead_event_id,
        )
        return self.topic(topics.CLIENTS_MERGED), event, merge["survivor"]

    def _snapshot_event(self, record: dict[str, Any], lead: Lead, registered: bool) -> tuple[Topic, Envelope, str]:
        """The `clients.registered` or `clients.updated` event describing the client after this lead."""
        view = view_from_record(record)
        view.pop("first_source", None)
        view["lead_source"] = {k: v for k, v in lead.source.items() if v is not None}
        view["missing_fields"] = missing_fields(view)
        model, topic = (ClientRegistered, topics.CLIENTS_REGISTERED) if registered else (
            ClientUpdated, topics.CLIENTS_UPDATED)
        event = model.create(
            source=SOURCE, correlation_id=lead.lead_event_id, causation_id=lead.lead_event_id,
            event_id=derived_event_id(lead.lead_event_id, "client-snapshot"), occurred_at=lead.occurred_at,
            hot=lead.callback_requested or (lead.missed_inbound and registered),
            lead_event_id=lead.lead_event_id, handled_by_manager_id=lead.manager_id, **view,
        )
        return self.topic(topic), event, view["client_id"]

    async def reject(self, topic: Topic, raw: bytes, rejected: Rejected) -> Outcome:
        """Keep the raw bytes in quarantine and publish `leads.rejected` with the reasons."""
        quarantine_id = quarantine_id_for(topic, raw)
        await self.repo.quarantine(quarantine_id, topic=topic.name, raw=raw, reasons=rejected.reasons,
                                   lead_event_id=rejected.lead_event_id)
        anchor = rejected.lead_event_id or quarantine_id
        event = LeadRejected.create(
            source=SOURCE, correlation_id=anchor, causation_id=rejected.lead_event_id,
            event_id=derived_event_id(anchor, "lead-rejected", quarantine_id),
            lead_event_id=rejected.lead_event_id, topic=topic.name, quarantine_id=quarantine_id,
            reasons=[{"code": r.code, "field": r.field, "message": r.message} for r in rejected.reasons],
        )
        events = [(self.topic(topics.LEADS_REJECTED), event, anchor)]
        await self._publish(events)
        log.warning("intake.lead_rejected", topic=topic.name, quarantine_id=quarantine_id,
                    codes=sorted({r.code for r in rejected.reasons}))
        return Outcome("rejected", None, events)

    async def replay(self, topic: Topic | None = None, limit: int = 1000) -> dict[str, int]:
        """Re-run quarantined inputs through the current rules; released items leave quarantine."""
        counts = {"released": 0, "still_rejected": 0}
        for item in await self.repo.quarantined(topic.name if topic else None, limit):
            origin = topics.topic_named(item["topic"])
            try:
                await self.process(origin, bytes(item["raw"]))
            except Rejected as rejected:
                await self.repo.record_replay(item["_id"], released=False, reasons=rejected.reasons)
                counts["still_rejected"] += 1
                continue
            await self.repo.record_replay(item["_id"], released=True)
            counts["released"] += 1
            log.info("intake.quarantine_released", quarantine_id=item["_id"], topic=item["topic"])
        return counts

    async def _publish(self, events: Sequence[tuple[Topic, Envelope, str]]) -> None:
        """Publish events in order, each keyed by its client (or lead for rejections)."""
        for topic, event, key in events:
            await self.publisher.publish(topic, event, key=key)
