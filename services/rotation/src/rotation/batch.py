"""Rotation's batch use cases: each polled batch costs a fixed number of MongoDB round trips and one publish.

The shape: parse every record (a record that cannot be parsed raises, and the reliability kit dead-letters
it alone), read the batch's clients in one bulk read and the standings once, decide in `ClientFold`, write one
guarded command per collection, publish with one `publish_all`. A client whose record was begun before
(`redelivered`) or whose guarded write lost to another writer is handled one event at a time by
`RotationService`, which also repairs what a crash left half done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import structlog

from clientbase import topics
from clientbase.crypto.reader import open_batch
from clientbase.crypto.vault import KeyVault
from clientbase.events.inbound import ActivityRecorded, ManagerChanged, ReassignRequested
from clientbase.events.outbound import ClientInactive, ClientMerged, ClientRegistered, ClientUpdated, SaleAttributed
from clientbase.kafka.reliability import Delivery
from clientbase.mongo_reads import KeyedReads
from clientbase.mongo_writes import guarded_updates, update_chunk
from clientbase.topics import Topic

from rotation.bulk import count_ops, insert_once
from rotation.domain import ConcurrentChange
from rotation.fold import SALE_DEFAULTS, ClientFold, Effect
from rotation.outcomes import Count, Publication, deferral, finished, refusal
from rotation.policy import Planner
from rotation.repository import ASSIGNMENTS, CLIENTS, DEFERRALS, HANDOVERS, MANAGERS, OWNED, STATS, UNASSIGNED
from rotation.service import RotationService, log_assignment, log_deferral, profile_fields
from rotation.sweep import Sweeper

log = structlog.get_logger(__name__)

ClientEvent = ClientRegistered | ClientUpdated | ClientMerged
CLIENT_MODELS: dict[str, type[ClientEvent]] = {
    topics.CLIENTS_REGISTERED.name: ClientRegistered, topics.CLIENTS_UPDATED.name: ClientUpdated,
    topics.CLIENTS_MERGED.name: ClientMerged,
}
ROSTER_FIELDS = {"name", "grade", "status", "capacity", "regions", "languages", "is_head"}


def subject(event: ClientEvent) -> str:
    """The client whose ownership document an event changes."""
    return event.merged_client_id if isinstance(event, ClientMerged) else event.client_id


class RotationBatches:
    """Applies polled batches of rotation's inbound topics with constant round trips per batch."""

    def __init__(self, service: RotationService, reads: KeyedReads, *, sweep_batch_size: int = 500,
                 retry_batch_size: int = 200, vault: KeyVault | None = None) -> None:
        self.service = service
        self.repo = service.repo
        self.db = service.repo.db
        self.rules = service.rules
        self.reads = reads
        self.sweep_batch_size = sweep_batch_size
        self.retry_batch_size = retry_batch_size
        self.chunk = update_chunk(reads.strategy)
        self.vault = vault

    async def guarded(self, collection: str, ops: Sequence[tuple[dict[str, Any], dict[str, Any]]],
                      **options: Any) -> set[int]:
        """Guarded updates of one collection, in as few commands as the server takes well."""
        return await guarded_updates(self.db[collection], ops, chunk=self.chunk, **options)

    async def client_events(self, topic: Topic, batch: Sequence[Delivery]) -> None:
        """Registrations, updates or merges: first assignments, profile refreshes, one owner per merged client."""
        model = CLIENT_MODELS[topic.name]
        events: list[ClientEvent] = (await open_batch(model, [d.body for d in batch], self.vault)
                                     if model is not ClientMerged else [model.model_validate_json(d.body) for d in batch])
        slow = {subject(e) for d, e in zip(batch, events, strict=True) if d.redelivered}
        fold, lost = await self.fold_clients([e for e in events if subject(e) not in slow])
        again = [(d, e) for d, e in zip(batch, events, strict=True) if subject(e) in slow | lost]
        for delivery, event in again:
            await self.one_client_event(event, redelivered=delivery.redelivered)
        log.info("rotation.batch_handled", topic=topic.name, size=len(batch), one_by_one=len(again), **fold.outcomes)

    async def fold_clients(self, events: Sequence[ClientEvent]) -> tuple[ClientFold, set[str]]:
        """Fold client events over their documents and the standings; returns the fold and the clients that lost."""
        docs = await self.reads.by_ids(self.db[CLIENTS], [subject(e) for e in events]) if events else {}
        fold = ClientFold.start(docs, await self.repo.standings() if events else [], self.rules)
        for e in events:
            if isinstance(e, ClientMerged):
                fold.merge(e.client_id, e.merged_client_id, e.occurred_at)
                continue
            profile = profile_fields(e)
            fields = {**profile, "handled_by_manager_id": e.handled_by_manager_id}
            if isinstance(e, ClientUpdated):
                fold.update(e.client_id, profile, fields, e.occurred_at, e.event_id, e.correlation_id)
            else:
                fold.register(e.client_id, fields, e.occurred_at, e.event_id, e.correlation_id, repair=True)
        lost = await self.apply(fold)
        await self.recheck_deferred(fold, lost)
        return fold, lost

    async def one_client_event(self, event: ClientEvent, *, redelivered: bool) -> None:
        """The per-event path, which repairs a half-done assignment."""
        if isinstance(event, ClientMerged):
            await self.service.merge(event)
        elif isinstance(event, ClientUpdated):
            await self.service.update_client(event)
            if redelivered:
                await self.service.register_client(event, repair=True)
        else:
            await self.service.register_client(event)

    async def recheck_deferred(self, fold: ClientFold, lost: set[str]) -> None:
        """Retry at once the clients this batch deferred if the roster changed meanwhile (it is read afresh).

        A roster change consumed concurrently retries the unassigned clients it can see; this closes the other
        side of that race, so a client never waits for the sweep because the two topics were read in parallel.
        """
        deferred = [cid for cid, doc in fold.docs.items() if cid not in lost and doc.get("status") == UNASSIGNED
                    and (fold.original.get(cid) or {}).get("status") != UNASSIGNED]
        if not deferred:
            return
        retry = ClientFold.start({cid: {**SALE_DEFAULTS, **fold.docs[cid]} for cid in deferred},
                                 await self.repo.standings(), self.rules)
        for cid in deferred:
            doc = retry.docs[cid]
            if not retry.retry_initial(cid, doc["registered_at"], doc["last_deferral"]["cause_event_id"]):
                break
        if retry.effects:
            await self.apply(retry)
            log.info("rotation.deferred_retried", retried=retry.outcomes.get("assigned", 0))

    async def apply(self, fold: ClientFold) -> set[str]:
        """Write the fold's clients in one guarded command, then record and publish what committed."""
        ops = fold.writes()
        lost_at = await self.guarded(CLIENTS, [(q, u) for _, q, u in ops])
        lost = {ops[i][0] for i in lost_at}
        if lost:
            log.info("rotation.writes_lost", clients=len(lost))
        await self.realize(fold.committed_effects(lost))
        return lost

    async def realize(self, effects: Sequence[Effect]) -> None:
        """Record history, handovers, deferrals and counters (a command per collection), then publish all."""
        assignments: dict[str, dict[str, Any]] = {}
        handovers: dict[str, dict[str, Any]] = {}
        deferrals: dict[str, dict[str, Any]] = {}
        publications: list[Publication] = []
        counts: list[Count] = []
        for effect in effects:
            if effect.kind == "finish":
                done = finished(effect.data)
                assignments[done.assignment_id] = done.assignment
                if done.handover is not None:
                    handovers[done.handover[0]] = done.handover[1]
                publications += done.publications
                counts += done.counts
                log_assignment(effect.data)
            elif effect.kind == "deferral":
                record_id, record, publication = deferral(effect.data)
                deferrals[record_id] = record
                publications.append(publication)
                log_deferral(effect.data)
            elif effect.kind == "refusal":
                publications.append(refusal(**effect.data))
                log.warning("rotation.reassign_refused", client_id=effect.client_id, reason=effect.data["reason"],
                            manager_id=effect.data["request"].manager_id, event_id=effect.data["request"].event_id)
            else:
                counts.append(Count(**effect.data))
        await asyncio.gather(insert_once(self.db[ASSIGNMENTS], assignments), insert_once(self.db[HANDOVERS], handovers),
                             insert_once(self.db[DEFERRALS], deferrals), self.count_all(counts))
        if publications:
            await self.service.publisher.publish_all(publications)

    async def count_all(self, counts: Sequence[Count]) -> None:
        """Add counter entries with one guarded update per bucket; a bucket that saw one of them before goes entry by entry."""
        ops = count_ops(counts)
        if not ops:
            return
        for i in sorted(await self.guarded(STATS, [(q, u) for _, q, u in ops])):
            for c in ops[i][0]:
                await self.repo.count(c.manager_id, c.entry_id, load=c.load, received=c.received, given=c.given)

    async def inactive(self, batch: Sequence[Delivery]) -> None:
        """The rotator over a batch: re-check each inactive client, reassign fairly or defer."""
        events = [ClientInactive.model_validate_json(d.body) for d in batch]
        slow = {e.client_id for d, e in zip(batch, events, strict=True) if d.redelivered}
        fast = [e for e in events if e.client_id not in slow]
        docs = await self.reads.by_ids(self.db[CLIENTS], [e.client_id for e in fast]) if fast else {}
        fold = ClientFold.start(docs, await self.repo.standings() if fast else [], self.rules)
        for e in fast:
            fold.rotate(e)
        lost = await self.apply(fold)
        again = [e for e in events if e.client_id in slow | lost]
        for event in again:
            await self.service.rotate(event)
        log.info("rotation.batch_handled", topic=topics.CLIENTS_INACTIVE.name, size=len(batch),
                 one_by_one=len(again), **fold.outcomes)

    async def reassign(self, batch: Sequence[Delivery]) -> None:
        """Manual reassignments: move each client to the named manager, or publish why not (never drop one)."""
        requests = [ReassignRequested.model_validate_json(d.body) for d in batch]
        docs = await self.reads.by_ids(self.db[CLIENTS], sorted({r.client_id for r in requests}))
        fold = ClientFold.start(docs, await self.repo.standings(), self.rules)
        for request in requests:
            fold.reassign(request)
        lost = await self.apply(fold)
        if lost:  # decided on a state another writer changed: the kit retries, and what committed is repaired
            raise ConcurrentChange(f"{len(lost)} client(s) changed during a manual reassignment")
        log.info("rotation.batch_handled", topic=topics.CLIENTS_REASSIGN_REQUESTED.name, size=len(batch),
                 **fold.outcomes)

    async def roster(self, batch: Sequence[Delivery]) -> None:
        """Keep the newest roster entry per manager; rotate a departed manager's clients; retry unassigned clients."""
        events = [ManagerChanged.model_validate_json(d.body) for d in batch]
        newest: dict[str, ManagerChanged] = {}
        for e in events:
            if e.manager_id not in newest or e.occurred_at >= newest[e.manager_id].occurred_at:
                newest[e.manager_id] = e
        before = await self.reads.by_ids(self.db[MANAGERS], list(newest))
        chosen = list(newest.values())
        lost = await self.guarded(MANAGERS, [(
            {"_id": e.manager_id, "$or": [{"occurred_at": {"$lte": e.occurred_at}}, {"occurred_at": None}]},
            {"$set": {**e.model_dump(include=ROSTER_FIELDS), "occurred_at": e.occurred_at}}) for e in chosen])
        applied = [e for i, e in enumerate(chosen) if i not in lost]
        for e in applied:
            log.info("rotation.roster_changed", manager_id=e.manager_id, status=e.status, event_id=e.event_id)
        for e in applied:
            if e.status == "departed":
                await Sweeper(self.service, self.sweep_batch_size).rotate_departed(
                    e.manager_id, e.occurred_at, e.correlation_id or e.event_id)
        redelivered = {d.event_id for d in batch if d.redelivered and d.event_id}
        if redelivered:
            await self.repair_retries(redelivered)
        freed = [e for e in applied if self.frees_room(e, before.get(e.manager_id), e.event_id in redelivered)]
        if freed:
            await self.retry_unassigned(freed[0])

    @staticmethod
    def frees_room(event: ManagerChanged, before: dict[str, Any] | None, redelivered: bool) -> bool:
        """Whether a roster change makes someone active or raises their capacity (or may have, on a redelivery)."""
        if event.status != "active" or event.capacity <= 0:
            return False
        return redelivered or before is None or before.get("status") != "active" or \
            event.capacity > int(before.get("capacity", 0))

    async def repair_retries(self, event_ids: set[str]) -> None:
        """Finish the assignments a roster change began before a crash (they name it as their cause)."""
        docs = await self.reads.by_field(self.db[CLIENTS], "assignment.cause_event_id", sorted(event_ids))
        await self.realize([Effect("finish", d["_id"], d) for d in docs if d.get("status") == OWNED])

    async def retry_unassigned(self, cause: ManagerChanged) -> int:
        """Give first managers to unassigned clients, oldest first, fairly, in bounded chunks; returns how many."""
        planner = Planner(await self.repo.standings(), self.rules)
        total = 0
        while True:
            docs = await self.repo.unassigned(self.retry_batch_size)
            fold = ClientFold.start({d["_id"]: d for d in docs}, planner, self.rules)
            assigned = 0
            for doc in docs:
                if not fold.retry_initial(doc["_id"], cause.occurred_at, cause.event_id):
                    break
                assigned += 1
            lost = await self.apply(fold) if assigned else set()
            total += assigned - len(lost)
            if lost or assigned < len(docs) or len(docs) < self.retry_batch_size:
                break
        log.info("rotation.unassigned_retried", manager_id=cause.manager_id, assigned=total, event_id=cause.event_id)
        return total

    async def sales(self, batch: Sequence[Delivery]) -> None:
        """Count attributed sales, once per sale event, with one guarded update per client."""
        events = [SaleAttributed.model_validate_json(d.body) for d in batch]
        per_client: dict[str, dict[str, SaleAttributed]] = {}
        for e in events:
            per_client.setdefault(e.client_id, {}).setdefault(e.sale_event_id, e)
        ops = []
        for client_id, sales in per_client.items():
            ids, items = list(sales), list(sales.values())
            ops.append(({"_id": client_id, "sale_ids": {"$nin": ids}}, {
                "$inc": {"sales_count": len(items), "revenue": sum(float(s.amount) for s in items)},
                "$set": {"has_sale": True}, "$min": {"first_sale_at": min(s.sold_at for s in items)},
                "$max": {"last_sale_at": max(s.sold_at for s in items), "activity_since": max(s.sold_at for s in items)},
                "$push": {"sale_ids": {"$each": ids}}}))
        clients = list(per_client)
        lost = await self.guarded(CLIENTS, ops)
        for i in sorted(lost):  # one of the client's sales was counted before: count each on its own guard
            for s in per_client[clients[i]].values():
                await self.repo.record_sale(s.client_id, s.sale_event_id, s.sold_at, float(s.amount))
        log.info("rotation.sales_recorded", size=len(batch), clients=len(clients), one_by_one=len(lost))

    async def activities(self, batch: Sequence[Delivery]) -> None:
        """Track each client's latest activity; a handover report by the new owner closes the handover."""
        events = [ActivityRecorded.model_validate_json(d.body) for d in batch]
        latest: dict[str, ActivityRecorded] = {}
        for e in events:
            if e.client_id not in latest or e.occurred_at > latest[e.client_id].occurred_at:
                latest[e.client_id] = e
        reports: dict[tuple[str, str], ActivityRecorded] = {}
        for e in events:
            if e.kind == "handover_report":
                reports.setdefault((e.client_id, e.manager_id), e)
        updates = [({"_id": cid}, {"$max": {"last_activity_at": e.occurred_at}, "$setOnInsert": SALE_DEFAULTS})
                   for cid, e in latest.items()]
        closes = [({"client_id": cid, "manager_id": mid, "status": {"$in": ["open", "overdue"]}},
                   {"$set": {"status": "reported", "reported_at": e.occurred_at, "report_event_id": e.event_id}})
                  for (cid, mid), e in reports.items()]
        lost, _ = await asyncio.gather(self.guarded(CLIENTS, updates),
                                       self.guarded(HANDOVERS, closes, upsert=False, multi=True))
        for i in sorted(lost):  # another writer created the document at the same moment
            await self.repo.record_activity(updates[i][0]["_id"], list(latest.values())[i].occurred_at)
        log.info("rotation.activities_recorded", size=len(batch), clients=len(latest), reports=len(reports))
