"""A batch's writes with one command per collection: guarded upserts, insert-once records, counter buckets.

Guarded writes (`clientbase.mongo_writes.guarded_updates`) are upserts whose filter pins the `_id` and the state
the batch read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from clientbase.mongo_writes import insert_new

from rotation.outcomes import Count

STAT_BUCKETS = 64


def bucket_of(manager_id: str, entry_id: str) -> str:
    """The counter document an entry is counted in: one of a few hash buckets per manager."""
    bucket = int(hashlib.sha1(entry_id.encode()).hexdigest()[:8], 16) % STAT_BUCKETS
    return f"{manager_id}:{bucket:02}"


async def insert_once(collection: AsyncCollection[dict[str, Any]], records: dict[str, dict[str, Any]]) -> None:
    """Insert records under deterministic ids in one command; ids already stored keep their first version."""
    await insert_new(collection, [{**doc, "_id": doc_id} for doc_id, doc in records.items()])


def count_ops(counts: Sequence[Count]) -> list[tuple[list[Count], dict[str, Any], dict[str, Any]]]:
    """One guarded update per counter bucket, adding every new entry of the batch at once."""
    groups: dict[str, dict[str, Count]] = {}
    for c in counts:
        groups.setdefault(bucket_of(c.manager_id, c.entry_id), {}).setdefault(c.entry_id, c)
    ops = []
    for bucket_id, entries in groups.items():
        items = list(entries.values())
        ids = [c.entry_id for c in items]
        ops.append((items, {"_id": bucket_id, "applied": {"$nin": ids}}, {
            "$inc": {"load": sum(c.load for c in items), "received": sum(c.received for c in items),
                     "given": sum(c.given for c in items)},
            "$push": {"applied": {"$each": ids}}, "$setOnInsert": {"manager_id": items[0].manager_id}}))
    return ops
