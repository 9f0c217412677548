"""Use cases of the segments: fold a batch of events into client states, and the daily pass; both publish changes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog
from pydantic import BaseModel

from clientbase import topics
from clientbase.events.envelope import utc_now
from clientbase.events.outbound import ClientSegmented
from clientbase.kafka.publishing import EventPublisher
from clientbase.segments import SegmentSettings, Windows

from metrics.company_average import CompanyAverage
from metrics.history import aware
from metrics.segment_store import SegmentConflict, SegmentStore
from metrics.segments import State, clients_named, fold, restate, unsent

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PassReport:
    """What a pass over every client did."""

    as_of: str
    clients: int
    changed: int
    conflicts: int


class Segmenter:
    """Keeps each client's segment current and publishes `clients.segmented` only when a segment changes.

    A batch costs a constant number of round trips: one read of the touched states not in memory (two with
    merges), one guarded bulk write, the publishes awaited together, then one bulk update and one insert. Each
    changed state is written together with its event (an outbox field) before the event is published, and the
    outbox is cleared after; a state read with its outbox still set (a crash in between) publishes it again under
    the same id. The company's average order comes from `CompanyAverage`, which aggregates only now and then and
    otherwise follows the states written.
    """

    def __init__(self, store: SegmentStore, company: CompanyAverage, publisher: EventPublisher,
                 settings: SegmentSettings, windows: Windows, topic_prefix: str = "",
                 clock: Callable[[], datetime] = utc_now, page_size: int = 500) -> None:
        self.store, self.company, self.publisher = store, company, publisher
        self.settings, self.windows = settings, windows
        self.topic = replace(topics.CLIENTS_SEGMENTED, name=topic_prefix + topics.CLIENTS_SEGMENTED.name)
        self.clock, self.page_size = clock, page_size

    async def apply(self, events: Sequence[BaseModel]) -> None:
        """Fold a batch's client, merge and sale events into the touched clients' states and publish the changes."""
        ids = clients_named(events)
        if not ids:
            return
        states, company = await asyncio.gather(self.store.load(ids), self.company.current())
        leftover = unsent(states.values())
        touched = fold(states, events)
        totals_read = {cid: states[cid].get("totals") or [] for cid in touched}
        as_of = self.clock()
        gone = [states[cid] for cid in touched if states[cid].get("merged_into") and states[cid].get("segment")]
        for state in gone:
            state["segment"] = None
        changes = [e for cid, cause in touched.items()
                   if (e := restate(states[cid], as_of, company, self.settings, self.windows, cause))]
        conflicts = await self._commit(changes, [states[cid] for cid in touched], leftover, list(states.values()))
        await self.store.log_gone([s["_id"] for s in gone if s["_id"] not in conflicts], as_of)
        for cid in touched.keys() - conflicts:
            self.company.account(totals_read[cid], states[cid]["totals"])
        if conflicts:  # another writer judged these clients meanwhile: the batch is replayed on fresh states
            raise SegmentConflict(f"{len(conflicts)} segment states changed meanwhile")
        log.info("metrics.segments_applied", clients=len(touched), changed=len(changes))

    async def run_pass(self, as_of: datetime | None = None) -> PassReport:
        """Judge every client again as of an instant (time alone ages hot signals and purchases); publish changes."""
        as_of = as_of or self.clock()
        company = await self.company.refresh()
        after, clients, changed, conflicts = None, 0, 0, 0
        while page := await self.store.page(after, self.page_size):
            leftover = unsent(page)
            changes, dirty = [], []
            for state in page:
                if event := restate(state, as_of, company, self.settings, self.windows, None):
                    changes.append(event)
                    dirty.append(state)
            lost = await self._commit(changes, dirty, leftover, page)  # a state the consumer changed meanwhile is its
            clients, after = clients + len(page), page[-1]["_id"]
            changed, conflicts = changed + len(changes) - len(lost), conflicts + len(lost)
        await self.store.mark_pass(self.clock())
        log.info("metrics.segments_pass", as_of=as_of.isoformat(), clients=clients, changed=changed)
        return PassReport(as_of.isoformat(), clients, changed, conflicts)

    async def _commit(self, changes: Sequence[ClientSegmented], states: Sequence[State],
                      leftover: Sequence[ClientSegmented] = (), read: Sequence[State] = ()) -> set[str]:
        """Write the states with their events, publish the events of the states written (and those left unpublished
        before), clear the outboxes and log the changes; return the clients whose write lost to another writer."""
        lost = await self.store.save(states)
        saved = {s["_id"]: s for s in states if s["_id"] not in lost}
        fresh = [e for e in changes if e.client_id not in lost]
        await self.publisher.publish_all((self.topic, e, e.client_id) for e in [*leftover, *fresh])
        published = [(cid, s["rev"] + 1) for cid, s in saved.items() if s.get("outbox")]
        published += [(e.client_id, s["rev"]) for e in leftover for s in read
                      if s["_id"] == e.client_id and s["_id"] not in saved and s["_id"] not in lost]
        await asyncio.gather(self.store.clear_outboxes(published),
                             self.store.log_changes(fresh, {cid: s["seq"] for cid, s in saved.items()}))
        return lost

    async def run_daily(self, interval_s: float) -> None:
        """Run the pass whenever the last one is `interval_s` old, across restarts (runs until cancelled)."""
        while True:
            last = await self.store.last_pass()
            if last is None:  # a new database: the consumer judges every client as it arrives; the first pass waits
                await self.store.mark_pass(self.clock())
                continue
            wait = 0.0 if last is None else (aware(last) + timedelta(seconds=interval_s) - self.clock()).total_seconds()
            if wait > 0:
                await asyncio.sleep(min(wait, interval_s))
                continue
            try:
                await self.run_pass()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("metrics.segments_pass_failed")
                await asyncio.sleep(min(interval_s, 60.0))
