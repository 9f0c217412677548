"""Hot leads don't wait: a hot client untouched by its owner is escalated to the owner, then the head of sales."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from clientbase import topics
from clientbase.crypto.reader import open_batch
from clientbase.events.envelope import derived_event_id, utc_now
from clientbase.events.inbound import ActivityRecorded
from clientbase.events.outbound import ClientSnapshot, HotLeadUntouched
from clientbase.kafka.reliability import Delivery
from clientbase.kafka.publishing import EventPublisher
from clientbase.mongo_reads import KeyedReads
from clientbase.mongo_writes import bulk_update, guarded_updates, update_chunk
from clientbase.runtime import ServiceRuntime

from rotation.hot_rules import HotRules, due_level
from rotation.repository import CLIENTS, MANAGERS
from rotation.settings import Settings

log = structlog.get_logger(__name__)

HOT = "hot_leads"
SOURCE = "rotation"
WATCH_DAYS = 7  # a hot signal older than this is no longer watched (it is cold by the segment rules anyway)


def _aware(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document with its instants as aware UTC datetimes."""
    return {k: (v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v) for k, v in doc.items()}


class HotLeads:
    """Records hot signals and owners' activities on hot clients, and publishes `clients.hot-untouched` when due."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], reads: KeyedReads, publisher: EventPublisher,
                 rules: HotRules, topic_prefix: str = "", clock: Callable[[], datetime] = utc_now) -> None:
        self.db, self.reads, self.publisher, self.rules, self.clock = db, reads, publisher, rules, clock
        self.topic = dataclasses.replace(topics.CLIENTS_HOT_UNTOUCHED,
                                         name=topic_prefix + topics.CLIENTS_HOT_UNTOUCHED.name)

    async def signals(self, model: type[ClientSnapshot], batch: Sequence[Delivery]) -> None:
        """Remember each client's latest hot signal from a batch of client snapshots (a newer one starts the clock
        again), one bulk write."""
        latest: dict[str, datetime] = {}
        for e in await open_batch(model, [d.body for d in batch], None):  # needs no personal field: no keys
            if e.hot and (e.client_id not in latest or e.occurred_at > latest[e.client_id]):
                latest[e.client_id] = e.occurred_at
        if not latest:
            return
        ops = [({"_id": cid, "$or": [{"hot_at": {"$exists": False}}, {"hot_at": {"$lt": at}}]},
                {"$set": {"hot_at": at, "level": 0}}) for cid, at in latest.items()]
        # a lost guard means the stored signal is as new or newer: nothing to do
        await guarded_updates(self.db[HOT], ops, chunk=update_chunk(self.reads.strategy))

    async def activities(self, batch: Sequence[Delivery]) -> None:
        """Note who worked with a client lately and when (the signal may come later), one bulk write."""
        latest: dict[tuple[str, str], datetime] = {}
        for e in (ActivityRecorded.model_validate_json(d.body) for d in batch):
            key = (e.client_id, e.manager_id)
            if key not in latest or e.occurred_at > latest[key]:
                latest[key] = e.occurred_at
        recent = self.clock() - timedelta(days=WATCH_DAYS)  # an activity may come before the signal it answers
        ops = [UpdateOne({"_id": cid}, {"$max": {f"touched_by.{mid}": at}}, upsert=True)
               for (cid, mid), at in latest.items()
               if at >= recent and "." not in mid and not mid.startswith("$")]  # a manager id is a field name here
        await bulk_update(self.db[HOT], ops, update_chunk(self.reads.strategy))

    async def check(self, as_of: datetime | None = None) -> dict[str, int]:
        """Publish the escalations due as of an instant and remember them (a rerun publishes nothing new)."""
        as_of = as_of or self.clock()
        leads = [_aware(d) for d in await self.db[HOT].find(
            {"level": {"$lt": 2}, "hot_at": {"$gte": as_of - timedelta(days=WATCH_DAYS), "$lte": as_of}}).to_list()]
        if not leads:
            return {"watched": 0, "published": 0}
        clients = await self.reads.by_ids(self.db[CLIENTS], [lead["_id"] for lead in leads],
                                          projection={"manager_id": 1, "last_sale_at": 1})
        owners = await self.reads.by_ids(self.db[MANAGERS], {c.get("manager_id") for c in clients.values()} - {None},
                                         projection={"regions": 1})
        events, marks = [], []
        for lead in leads:
            client = _aware(clients.get(lead["_id"], {}))
            level, minutes = due_level(lead, client, owners.get(client.get("manager_id")), as_of, self.rules)
            for step in range(lead.get("level", 0) + 1, level + 1):
                events.append(HotLeadUntouched.create(
                    source=SOURCE, correlation_id=derived_event_id("hot", lead["_id"], lead["hot_at"].isoformat()),
                    event_id=derived_event_id("hot-untouched", lead["_id"], lead["hot_at"].isoformat(), step),
                    occurred_at=as_of, client_id=lead["_id"], manager_id=client["manager_id"], level=step,
                    hot_at=lead["hot_at"], business_minutes=minutes, threshold_minutes=self.rules.minutes, as_of=as_of))
            if level > lead.get("level", 0):
                marks.append(UpdateOne({"_id": lead["_id"], "hot_at": lead["hot_at"], "level": lead.get("level", 0)},
                                       {"$set": {"level": level}}))
        await self.publisher.publish_all((self.topic, e, e.client_id) for e in events)
        await bulk_update(self.db[HOT], marks, update_chunk(self.reads.strategy))
        log.info("rotation.hot_checked", watched=len(leads), published=len(events))
        return {"watched": len(leads), "published": len(events)}

class HotWatch:
    """The background task that checks for untouched hot leads every interval."""

    def __init__(self, hot: Callable[[], HotLeads], interval_s: float) -> None:
        self.hot, self.interval_s = hot, interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start checking once the service has connected."""
        self._task = asyncio.create_task(self._loop(), name="rotation-hot-leads")

    async def stop(self) -> None:
        """Stop checking."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.hot().check()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("rotation.hot_check_failed")
            await asyncio.sleep(self.interval_s)


def hot_leads(runtime: ServiceRuntime, settings: Settings) -> HotLeads:
    """The hot-lead watch on the service's database and publisher."""
    return HotLeads(runtime.db, runtime.reads, runtime.publisher, settings.hot_rules(), settings.topic_prefix)
