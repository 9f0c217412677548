"""Intake's use cases: turn a raw input into one client record or an attributed sale, reject and replay bad input."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from clientbase import topics
from clientbase.events.envelope import Envelope
from clientbase.events.inbound import CallReceived, FormSubmitted, SaleRecorded
from clientbase.kafka.reliability import Delivery
from clientbase.mongo_writes import insert_new
from clientbase.topics import Topic

from intake.batch import LeadBatch
from intake.domain import IntakePolicy, Lead, Rejected, candidate_client_id
from intake.identity import resolve_identity
from intake.leads import lead_from_call, lead_from_form
from intake.parsing import parse_inbound
from intake.events import merged_event, quarantine_id_for, rejected_event, snapshot_event
from intake.records import fold, fragment_from_lead
from intake.repository import QUARANTINE, IntakeRepository
from intake.sales import attribute_sale, sale_lookups

log = structlog.get_logger(__name__)

MAX_RESOLUTION_ATTEMPTS = 10


class Publisher(Protocol):
    """What the service needs to send events (the runtime's EventPublisher)."""

    async def publish_all(self, items: Iterable[tuple[Topic, Envelope, str]]) -> None:
        """Publish several events in order and wait for every ack."""


class ResolutionConflict(Exception):
    """Concurrent merges kept moving the lead's client; a redelivery will settle it."""


@dataclass
class Outcome:
    """What handling one input did: its kind, the client and the events published."""

    kind: str
    client_id: str | None = None
    events: list[tuple[Topic, Envelope, str]] = field(default_factory=list)


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

    async def ingest_batch(self, batch: Sequence[tuple[Topic, Delivery]]) -> list[Outcome]:
        """Handle a batch of raw inbound messages with a fixed number of bulk round trips, then publish together."""
        if any(d.redelivered for _, d in batch):  # a retried batch may be half applied: the careful path
            outcomes = [await self._ingest_alone(topic, d.body) for topic, d in batch]
        else:
            outcomes = await self._ingest_fresh([(topic, d.body) for topic, d in batch])
        await self._publish([e for o in outcomes for e in o.events])
        return outcomes

    async def _ingest_alone(self, topic: Topic, raw: bytes) -> Outcome:
        """One message by the single-lead rules, its events not yet published."""
        try:
            return await self.process(topic, raw, publish=False)
        except Rejected as rejected:
            return await self.reject(topic, raw, rejected, publish=False)

    async def _ingest_fresh(self, inputs: Sequence[tuple[Topic, bytes]]) -> list[Outcome]:
        """First deliveries: parse all, apply the leads and attribute the sales in bulk, quarantine the bad."""
        parsed: list[tuple[Topic, bytes, Lead | SaleRecorded | Rejected]] = []
        for topic, raw in inputs:
            try:
                parsed.append((topic, raw, self.parse(topic, raw)))
            except Rejected as rejected:
                parsed.append((topic, raw, rejected))
        leads = [item for _, _, item in parsed if isinstance(item, Lead)]
        applied = iter(await LeadBatch(self, leads).apply() if leads else [])
        sales = [(raw, item) for _, raw, item in parsed if isinstance(item, SaleRecorded)]
        attributed = iter(await self._attribute_sales(sales) if sales else [])
        await insert_new(self.repo.db[QUARANTINE], [self.repo.quarantine_document(
            quarantine_id_for(topic, raw), topic=topic.name, raw=raw, reasons=item.reasons,
            lead_event_id=item.lead_event_id) for topic, raw, item in parsed if isinstance(item, Rejected)])
        outcomes: list[Outcome] = []
        for topic, raw, item in parsed:
            if isinstance(item, Rejected):
                outcomes.append(self._rejection(topic, raw, item))
            else:
                outcomes.append(next(applied) if isinstance(item, Lead) else next(attributed))
        return outcomes

    def parse(self, topic: Topic, raw: bytes) -> Lead | SaleRecorded:
        """The lead or sale in a raw message; raise Rejected for input that cannot be used."""
        if topic.name == topics.LEADS_FORM_SUBMITTED.name:
            return lead_from_form(parse_inbound(raw, FormSubmitted, max_bytes=self.max_payload_bytes), self.policy)
        if topic.name == topics.LEADS_CALL_RECEIVED.name:
            return lead_from_call(parse_inbound(raw, CallReceived, max_bytes=self.max_payload_bytes), self.policy)
        if topic.name == topics.SALES_RECORDED.name:
            return parse_inbound(raw, SaleRecorded, max_bytes=self.max_payload_bytes)
        raise ValueError(f"intake does not consume {topic.name}")

    async def _attribute_sales(self, sales: Sequence[tuple[bytes, SaleRecorded]]) -> list[Outcome]:
        """Attribute sales whose lookups were read in bulk; unmatched ones are quarantined."""
        repo = self.repo.over(await sale_lookups(self.repo, [sale for _, sale in sales], self.policy))
        outcomes = []
        for raw, sale in sales:
            try:
                outcomes.append(await self._attribute(repo, sale))
            except Rejected as rejected:
                outcomes.append(await self.reject(topics.SALES_RECORDED, raw, rejected, publish=False))
        return outcomes

    async def _attribute(self, repo: IntakeRepository, sale: SaleRecorded) -> Outcome:
        """The `sales.attributed` outcome of one sale; raise Rejected when no client matches."""
        client_id, events = await attribute_sale(repo, sale, self.policy, self.topic(topics.SALES_ATTRIBUTED))
        log.info("intake.sale_attributed", client_id=client_id, order_id=sale.order_id, event_id=sale.event_id)
        return Outcome("attributed", client_id, events)

    async def process(self, topic: Topic, raw: bytes, *, publish: bool = True) -> Outcome:
        """Handle one raw inbound message, raising Rejected for input that cannot be used."""
        item = self.parse(topic, raw)
        if isinstance(item, Lead):
            return await self.register_lead(item, publish=publish)
        outcome = await self._attribute(self.repo, item)
        if publish:
            await self._publish(outcome.events)
        return outcome

    async def register_lead(self, lead: Lead, *, publish: bool = True) -> Outcome:
        """Match a lead to its client (claiming identities, merging duplicates) and publish the snapshot."""
        for _ in range(MAX_RESOLUTION_ATTEMPTS):
            outcome = await self.try_register(lead, self.repo)
            if outcome is not None:
                if publish:
                    await self._publish(outcome.events)
                self.log_registration(lead, outcome)
                return outcome
        raise ResolutionConflict(lead.lead_event_id)

    @staticmethod
    def log_registration(lead: Lead, outcome: Outcome) -> None:
        """Log what a lead did to its client."""
        log.info("intake.lead_" + outcome.kind, client_id=outcome.client_id, source=lead.source_ref,
                 merged=len(outcome.events) - 1, event_id=lead.lead_event_id)

    async def try_register(self, lead: Lead, repo: IntakeRepository) -> Outcome | None:
        """One attempt at resolving and applying a lead; None when a concurrent merge moved the target."""
        candidate = candidate_client_id(lead.lead_event_id, lead.occurred_at)
        owners: dict[str, str] = {}
        for key in lead.identity_keys():
            owners[key.key] = await repo.resolve(await repo.claim(key.key, candidate, lead.lead_event_id))
        weak_owners = {owners[k.key] for k in lead.identity_keys() if not k.strong} - {candidate}
        resolution = resolve_identity(lead, owners, await repo.known(weak_owners))
        survivor = resolution.survivor
        for loser in resolution.merged:
            if await repo.merge(loser, survivor, lead.lead_event_id) != survivor:
                return None  # a concurrent lead merged it elsewhere first: resolve again
            log.info("intake.clients_merged", client_id=survivor, merged_client_id=loser)
        merges = await repo.merges_by(lead.lead_event_id)
        for merge in merges:  # also repairs a crash between recording a merge and linking the records
            await repo.add_merged_client(merge["survivor"], merge["_id"], lead.lead_event_id)
            await repo.mark_merged(merge["_id"], merge["survivor"], lead.lead_event_id)
        brand_new = survivor == candidate and not merges  # nothing stored for it yet, unless this is a redelivery
        facts = await repo.add_fragment(survivor, lead.lead_event_id,
                                        fragment_from_lead(lead, switchboard=resolution.switchboard),
                                        existing=[] if brand_new else None)
        registered = await repo.register(survivor, lead.lead_event_id) == lead.lead_event_id
        if await repo.resolve(survivor) != survivor:
            return None  # merged meanwhile; the fact stays in the survivor's record, so nothing is lost
        if resolution.switchboard:
            log.info("intake.switchboard_contact_added", client_id=survivor)
        events = [merged_event(m, lead, self.topic) for m in merges if await repo.is_registered(m["_id"])]
        record = fold(survivor, await repo.expand(facts))
        events.append(snapshot_event(record, lead, registered, self.topic))
        return Outcome("registered" if registered else "updated", survivor, events)

    async def reject(self, topic: Topic, raw: bytes, rejected: Rejected, *, publish: bool = True) -> Outcome:
        """Keep the raw bytes in quarantine and publish `leads.rejected` with the reasons."""
        await self.repo.quarantine(quarantine_id_for(topic, raw), topic=topic.name, raw=raw,
                                   reasons=rejected.reasons, lead_event_id=rejected.lead_event_id)
        outcome = self._rejection(topic, raw, rejected)
        if publish:
            await self._publish(outcome.events)
        return outcome

    def _rejection(self, topic: Topic, raw: bytes, rejected: Rejected) -> Outcome:
        """The `leads.rejected` outcome of a quarantined input."""
        quarantine_id = quarantine_id_for(topic, raw)
        log.warning("intake.lead_rejected", topic=topic.name, quarantine_id=quarantine_id,
                    codes=sorted({r.code for r in rejected.reasons}), event_id=rejected.lead_event_id)
        return Outcome("rejected", None, [rejected_event(topic, quarantine_id, rejected, self.topic)])

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
        """Publish events in order, each keyed by its client (or lead for rejections), acks awaited together."""
        await self.publisher.publish_all(events)
