"""MongoDB-backed bookkeeping for consumers: processed event ids and failed delivery attempts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.events.envelope import utc_now
from clientbase.mongo import IndexSpec
from clientbase.mongo_reads import KeyedReads
from clientbase.mongo_writes import insert_new

PROCESSED_COLLECTION = "processed_events"
ATTEMPTS_COLLECTION = "consumer_attempts"
DONE_PREFIX = "done|"

CONSUMER_INDEXES = (
    IndexSpec(PROCESSED_COLLECTION, [("processed_at", 1)], name="processed_at"),
    IndexSpec(PROCESSED_COLLECTION, [("state", 1)], name="processed_state"),
)


class ProcessedEvents:
    """Remembers which event ids a consumer has fully handled, so a redelivery is skipped.

    Insert-only, so a batch of fresh events costs two bulk inserts and no read: a claim per event
    (`_id` = key, naming the batch that claimed it) before the handler runs, and one done mark for the whole
    batch (`_id` = `done|` + batch id) after it. Only keys whose claim already existed (a redelivery) are read
    back, with the done marks of their batches, to tell a finished event from an interrupted one; an event
    finished outside the batch that claimed it (a part of a replayed batch) gets a done mark of its own.
    """

    def __init__(self, collection: AsyncCollection[dict[str, Any]], reads: KeyedReads | None = None) -> None:
        self._collection = collection
        self._reads = reads or KeyedReads()

    async def claim(self, keys: Sequence[str], batch: str) -> tuple[set[str], set[str]]:
        """Claim the keys for a batch; return those handled completely before, and those begun but not finished."""
        now = utc_now()
        existing = await insert_new(self._collection, [{"_id": k, "state": "claimed", "batch": batch,
                                                        "claimed_at": now} for k in dict.fromkeys(keys)])
        if not existing:
            return set(), set()
        claims = await self._reads.by_ids(self._collection, existing, projection={"state": 1, "batch": 1})
        legacy = {k for k in existing if "state" not in claims.get(k, {"state": None})}  # marks of the former kit
        batches = {_done(c["batch"]) for c in claims.values() if c.get("batch")}
        finished = await self._reads.by_ids(self._collection, batches, projection={"_id": 1})
        done = legacy | {k for k in existing if _done(claims.get(k, {}).get("batch", "")) in finished}
        alone = await self._reads.by_ids(self._collection, [_done_alone(k) for k in existing - done],
                                         projection={"_id": 1})
        done |= {k for k in existing if _done_alone(k) in alone}
        return done, existing - done

    async def finish(self, batch: str, count: int) -> None:
        """Mark every event the batch claimed as handled; marking twice is harmless."""
        await insert_new(self._collection, [{"_id": _done(batch), "state": "done", "count": count,
                                             "processed_at": utc_now()}])

    async def finish_alone(self, key: str) -> None:
        """Mark one event handled on its own (a batch replayed in parts)."""
        await self.finish_each([key])

    async def finish_each(self, keys: Sequence[str]) -> None:
        """Mark events handled outside the batch that claimed them (a part of a replayed batch), in one insert."""
        now = utc_now()
        await insert_new(self._collection, [{"_id": _done_alone(k), "state": "done", "count": 1, "processed_at": now}
                                            for k in dict.fromkeys(keys)])


def _done(batch: str) -> str:
    return f"{DONE_PREFIX}{batch}"


def _done_alone(key: str) -> str:
    return f"{DONE_PREFIX}key:{key}"


async def handled_events(db: AsyncDatabase[dict[str, Any]]) -> int:
    """How many events a service's consumers have finished, summed over the done marks (for tests and operators)."""
    marks = await db[PROCESSED_COLLECTION].find({"state": "done"}, projection={"count": 1}).to_list()
    return sum(int(m.get("count", 1)) for m in marks)


class DeliveryAttempts:
    """Counts failed deliveries per Kafka record across restarts and replicas."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    async def record_failure(self, key: str, error: str) -> int:
        """Add one failed attempt for the record and return how many there have been."""
        document = await self._collection.find_one_and_update(
            {"_id": key},
            {"$inc": {"attempts": 1}, "$set": {"last_error": error, "last_failed_at": utc_now()}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(document["attempts"])

    async def clear(self, key: str) -> None:
        """Forget the record's failures once it is handled or dead-lettered."""
        await self._collection.delete_one({"_id": key})
