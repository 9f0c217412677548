"""The policy pipeline over a batch: one bulk read per lookup kind, pure decisions, one write, then the sends."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from clientbase import topics
from clientbase.events.envelope import Envelope
from clientbase.topics import Topic

from notify.consent import address_key, fold
from notify.delivery import Deliverer
from notify.domain import Decision, Policy, PolicyState, Recipient, Request, candidates, decide, frequency_keys
from notify.records import (
    Doc, decided_fields, outcome_event, outcome_key, recipient_of_client, recipient_of_manager, request_fields,
    request_from_doc, stored_outcomes,
)
from notify.repository import NotifyRepository

log = structlog.get_logger(__name__)


class Publisher(Protocol):
    """What the pipeline needs to send events (the runtime's EventPublisher)."""

    async def publish_all(self, items: Iterable[tuple[Topic, Envelope, str]]) -> None:
        """Publish several events in order and wait for every ack."""


class Pipeline:
    """Decides requests in bulk, stores each decision before acting on it, publishes outcomes, sends as a batch."""

    def __init__(self, repo: NotifyRepository, publisher: Publisher, deliverer: Deliverer, policy: Policy, *,
                 clock: Callable[[], datetime], topic_prefix: str = "",
                 counted: Callable[[str, str, str | None], None] | None = None) -> None:
        self.repo = repo
        self.publisher = publisher
        self.deliverer = deliverer
        self.policy = policy
        self.clock = clock
        self.counted = counted or (lambda channel, status, reason: None)
        self.outcomes_topic = dataclasses.replace(topics.NOTIFICATIONS_OUTCOMES,
                                                  name=topic_prefix + topics.NOTIFICATIONS_OUTCOMES.name)

    async def submit(self, requests: Sequence[Request]) -> None:
        """Handle new requests: a request already stored (redelivered) resumes where it stopped, never restarts."""
        requests = list({r.request_id: r for r in requests}.values())
        existing = await self.repo.requests(r.request_id for r in requests)
        fresh = [r for r in requests if r.request_id not in existing]
        now = self.clock()
        decisions = await self.decide(fresh, now)
        docs = {d.request.request_id: {**request_fields(d.request), **self._fields(d, now), **self._deferred(d)}
                for d in decisions}
        raced = await self.repo.insert_requests(list(docs.values()))
        if raced:  # another replica stored them meanwhile: resume from what it stored
            existing.update(await self.repo.requests(raced))
            docs = {k: v for k, v in docs.items() if k not in raced}
        resumed = list(existing.values())
        await self._publish([e for doc in [*docs.values(), *resumed] for e in stored_outcomes(doc)])
        await self._send_all([d for d in [*docs.values(), *resumed] if d["status"] in ("queued", "sending")])

    async def redecide(self, claimed: Sequence[Doc]) -> None:
        """Decide parked requests again once due; each update is guarded by the claim's lease."""
        now = self.clock()
        decisions = await self.decide([request_from_doc(d) for d in claimed], now)
        leases = {d["_id"]: d["due_at"] for d in claimed}
        done, updates = [], []
        for decision, doc in zip(decisions, claimed, strict=True):
            fields = self._fields(decision, now)
            if not doc.get("deferred"):
                fields.update(self._deferred(decision))
            updates.append(({"_id": doc["_id"], "status": "parked", "due_at": leases[doc["_id"]]}, fields))
            done.append({**doc, **fields})
        await self.repo.update_requests(updates)
        await self._publish([e for doc in done for e in stored_outcomes(doc)])
        await self._send_all([d for d in done if d["status"] == "queued"])

    async def resume(self, docs: Sequence[Doc]) -> None:
        """Finish sends a stopped process left queued or mid-send (email mid-send ends `sent`/`unconfirmed`)."""
        await self._send_all(docs)

    async def decide(self, requests: Sequence[Request], now: datetime) -> list[Decision]:
        """Load what the checks need for the whole batch, then decide each request in batch order."""
        if not requests:
            return []
        clients, managers = await self.repo.recipients(
            {c for r in requests for c in (r.client_id, r.subject_client_id) if c},
            {r.manager_id for r in requests if r.manager_id})
        recipients = {r.request_id: self._recipient(r, clients, managers) for r in requests}
        subjects = {r.request_id: _client(r.subject_client_id, clients) for r in requests if r.subject_client_id}
        keys, counters = set(), set()
        for request in requests:
            recipient = recipients[request.request_id]
            for address in candidates(request, recipient)[0] if recipient else []:
                keys.add(address_key(request.channel, address))
                if request.category == "marketing":  # only marketing counts against the frequency
                    counters.update(frequency_keys(request, address))
        dedupe_ids = {r.dedupe_id for r in requests if r.dedupe_id}
        ledger = await self.repo.ledger(keys)
        state = PolicyState(
            consents={key: fold(ledger.get(key, [])) for key in keys},
            suppressed=await self.repo.suppressed(keys),
            marketing_sends=await self.repo.marketing_sends(counters),
            dedupe={k: (d["request_id"], _aware(d["at"]))
                    for k, d in (await self.repo.dedupe_claims(dedupe_ids)).items()},
        )
        decisions = [decide(r, recipients[r.request_id], state, self.policy, now, subjects.get(r.request_id))
                     for r in requests]
        decisions = await self._claim_dedupe(decisions, now)
        return [self.deliverer.prepare(d, recipients[d.request.request_id], subjects.get(d.request.request_id))
                if d.verdict == "send" else d for d in decisions]

    async def _claim_dedupe(self, decisions: list[Decision], now: datetime) -> list[Decision]:
        """Store dedupe claims; a request whose key another request claimed first becomes a duplicate."""
        claims = [{"_id": d.request.dedupe_id, "request_id": d.request.request_id, "at": now}
                  for d in decisions if d.request.dedupe_id and d.verdict != "wait" and d.reason != "duplicate"]
        taken = await self.repo.claim_dedupe(list({c["_id"]: c for c in claims}.values()))
        holders = await self.repo.dedupe_claims(taken) if taken else {}
        window = now - timedelta(days=self.policy.dedupe_days)
        return [Decision(d.request, "suppressed", "duplicate")
                if d.request.dedupe_id in holders and holders[d.request.dedupe_id]["request_id"] != d.request.request_id
                and _aware(holders[d.request.dedupe_id]["at"]) > window and d.verdict != "wait" else d
                for d in decisions]

    def _recipient(self, request: Request, clients: dict[str, Doc], managers: dict[str, Doc]) -> Recipient | None:
        """The request's recipient, a merged client followed to its survivor."""
        if not request.client_id and not request.manager_id:
            return Recipient(key=request.recipient_key)
        if request.manager_id:
            doc = managers.get(request.manager_id)
            return recipient_of_manager(doc) if doc else None
        return _client(request.client_id, clients)

    def _fields(self, decision: Decision, now: datetime) -> Doc:
        """What a decision sets on its request document (a request for an erased client keeps no params nor address)."""
        fields = decided_fields(decision, now, self.policy.recipient_retry_s, self.deliverer.config.lease_s)
        if decision.reason == "erased":
            fields.update({"params": {}, "fixed_address": None})
        return fields

    @staticmethod
    def _deferred(decision: Decision) -> Doc:
        """The deferred outcome a parked request carries (published once, before its final one)."""
        if decision.verdict != "deferred":
            return {}
        return {"deferred": {"reason": decision.reason, "deliver_after": decision.deliver_after}}

    async def _send_all(self, docs: Sequence[Doc]) -> None:
        """Send the queued requests as one batch, their intents recorded first; publish the outcomes."""
        if docs:
            finished = await self.deliverer.deliver_all(docs)
            await self._publish([outcome_event(doc, **outcome) for doc, outcome in finished])

    async def _publish(self, events: Sequence[Envelope]) -> None:
        """Publish outcome events in one call."""
        if events:
            await self.publisher.publish_all([(self.outcomes_topic, e, outcome_key(e.model_dump())) for e in events])
            for event in events:
                log.info("notify.outcome", event_id=event.causation_id, status=event.status, reason=event.reason,
                         channel=event.channel, provider=event.provider)
                self.counted(event.channel, event.status, event.reason)


def _client(client_id: str | None, clients: dict[str, Doc]) -> Recipient | None:
    """A client notify has a snapshot of, a merged client followed to its survivor; None if not known yet."""
    doc = clients.get(client_id or "")
    if doc and doc.get("merged_into"):
        doc = clients.get(doc["merged_into"], doc)
    return recipient_of_client(doc) if doc and doc.get("snapshot") else None


def _aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

