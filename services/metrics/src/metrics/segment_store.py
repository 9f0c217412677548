"""MongoDB collections of the segments: each client's current state, the log of changes, the daily pass mark."""

from __future__ import annotations

import asyncio
import copy
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.events.outbound import ClientSegmented
from clientbase.mongo import IndexSpec
from clientbase.mongo_reads import KeyedReads
from clientbase.mongo_writes import bulk_update, guarded_updates, insert_new, update_chunk

from metrics.segments import State

SEGMENTS = "segments"
SEGMENT_CHANGES = "segment_changes"
SEGMENT_PASSES = "segment_passes"
GONE_SEQ = 1 << 40  # after every change: a client merged away stays gone
SEGMENT_INDEXES = (IndexSpec(SEGMENT_CHANGES, [("at", 1)], name="segment_change_at"),)


class SegmentConflict(Exception):
    """Another writer changed a client's segment state meanwhile; the batch is retried on fresh state."""


class SegmentStore:
    """Reads and writes of segment states with a revision guard, so concurrent writers never lose an update.

    The states this process wrote last are kept in memory (up to `cache_size`) and served instead of a read: only
    this store writes segment states, and every write is guarded by the revision, so a cached state another
    writer has moved on since loses its write, is dropped from memory and read again when its batch is replayed.
    """

    def __init__(self, db: AsyncDatabase[dict[str, Any]], reads: KeyedReads, cache_size: int = 50_000) -> None:
        self.db, self.reads = db, reads
        self._written: OrderedDict[str, State] = OrderedDict()
        self._cache_size = cache_size

    async def load(self, client_ids: Iterable[str]) -> dict[str, State]:
        """The states of these clients and of the survivors they were merged into (at most two reads)."""
        states = await self._states(set(client_ids))
        survivors = {s["merged_into"] for s in states.values() if s.get("merged_into")} - set(states)
        if survivors:
            states.update(await self._states(survivors))
        return states

    async def _states(self, client_ids: set[str]) -> dict[str, State]:
        """Copies of the states this process wrote last, and one read for the others."""
        states = {cid: copy.deepcopy(self._written[cid]) for cid in client_ids if cid in self._written}
        if missing := client_ids - set(states):
            states.update(await self.reads.by_ids(self.db[SEGMENTS], missing))
        return states

    def _remember(self, states: Iterable[State]) -> None:
        """Keep states as written, the least recently written dropped first."""
        for state in states:
            self._written[state["_id"]] = state
            self._written.move_to_end(state["_id"])
        while len(self._written) > self._cache_size:
            self._written.popitem(last=False)

    async def page(self, after: str | None, limit: int) -> list[State]:
        """Up to `limit` states in client id order after a given id, for the daily pass."""
        query = {"_id": {"$gt": after}} if after is not None else {}
        return await self.db[SEGMENTS].find(query).sort("_id", 1).limit(limit).to_list()

    async def company_sums(self) -> dict[str, tuple[float, int]]:
        """Revenue and orders per currency over every surviving client's purchases (two aggregations)."""
        revenue, orders = await asyncio.gather(self._sum_per_currency("revenue"), self._sum_per_currency("orders"))
        return {currency: (float(revenue.get(currency, 0)), int(count)) for currency, count in orders.items()}

    async def _sum_per_currency(self, field: str) -> dict[str, float]:
        """One total per currency; one accumulator per aggregation, as FerretDB v1 fills only a group's first."""
        cursor = await self.db[SEGMENTS].aggregate([
            {"$match": {"merged_into": None}}, {"$unwind": "$totals"},
            {"$group": {"_id": "$totals.currency", "sum": {"$sum": f"$totals.{field}"}}},
        ])
        return {row["_id"]: row["sum"] for row in await cursor.to_list()}

    async def save(self, states: Sequence[State]) -> set[str]:
        """Write states whose revision is still the one read, in one unordered bulk write; return those that were not."""
        if not states:
            return set()
        written = [{**copy.deepcopy(s), "rev": s["rev"] + 1} for s in states]
        lost_at = await guarded_updates(self.db[SEGMENTS], [({"_id": s["_id"], "rev": s["rev"]}, doc)
                                                             for s, doc in zip(states, written)],
                                        chunk=update_chunk(self.reads.strategy))
        lost = {states[i]["_id"] for i in lost_at}
        for client_id in lost:
            self._written.pop(client_id, None)
        self._remember(doc for doc in written if doc["_id"] not in lost)
        return lost

    async def clear_outboxes(self, revisions: Sequence[tuple[str, int]]) -> None:
        """Forget the events of states once published, at the revision written (a state still holding one
        republishes it when read)."""
        if revisions:
            await bulk_update(self.db[SEGMENTS], [UpdateOne({"_id": cid, "rev": rev}, {"$set": {"outbox": None}})
                                                  for cid, rev in revisions], update_chunk(self.reads.strategy))
            for cid, rev in revisions:
                if (state := self._written.get(cid)) is not None and state["rev"] == rev:
                    state["outbox"] = None

    async def log_changes(self, events: Sequence[ClientSegmented], seqs: Mapping[str, int]) -> None:
        """Keep every published change (insert-only, by event id) with its number, the source of the counts."""
        await insert_new(self.db[SEGMENT_CHANGES], [
            {"_id": e.event_id, "client_id": e.client_id, "at": e.as_of, "seq": seqs[e.client_id],
             **e.segment.model_dump()} for e in events])

    async def log_gone(self, client_ids: Sequence[str], at: datetime) -> None:
        """Log that clients merged into others have left their segments."""
        await insert_new(self.db[SEGMENT_CHANGES], [
            {"_id": f"gone|{cid}", "client_id": cid, "at": at, "seq": GONE_SEQ, "gone": True} for cid in client_ids])

    async def changes(self) -> list[dict[str, Any]]:
        """Every logged change, oldest first."""
        return await self.db[SEGMENT_CHANGES].find({}).sort("at", 1).to_list()

    async def last_pass(self) -> datetime | None:
        """When the last daily pass finished."""
        doc = await self.db[SEGMENT_PASSES].find_one({"_id": "last"})
        return doc["at"] if doc else None

    async def mark_pass(self, at: datetime) -> None:
        """Remember that a pass finished."""
        await self.db[SEGMENT_PASSES].update_one({"_id": "last"}, {"$set": {"at": at}}, upsert=True)
