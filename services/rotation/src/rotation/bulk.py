"""A batch's writes with one command per collection: guarded upserts, insert-once records, counter buckets.

Guarded writes are upserts whose filter pins the `_id` and the state the batch read: when the stored document no
longer matches, the upsert collides with it (duplicate key), which names exactly the write that lost, on
MongoDB and on FerretDB v1 alike. The unordered `update` command is sent as a command because FerretDB v1
omits the `nModified` count from a reply that carries write errors, which the driver's `bulk_write` needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

from clientbase.mongo_writes import insert_new

from rotation.outcomes import Count

DUPLICATE_KEY = 11000
UPDATE_CHUNK = 1000
FERRETDB_UPDATE_CHUNK = 50  # FerretDB v1 (SQLite) slows down sharply past a few dozen updates in one command


def update_chunk(read_strategy: str) -> int:
    """Updates per command for the server the reads were tuned for: point lookups mean FerretDB v1."""
    return FERRETDB_UPDATE_CHUNK if read_strategy == "point" else UPDATE_CHUNK
STAT_BUCKETS = 64


def bucket_of(manager_id: str, entry_id: str) -> str:
    """The counter document an entry is counted in: one of a few hash buckets per manager."""
    bucket = int(hashlib.sha1(entry_id.encode()).hexdigest()[:8], 16) % STAT_BUCKETS
    return f"{manager_id}:{bucket:02}"


async def _update(collection: AsyncCollection[dict[str, Any]], ops: Sequence[tuple[dict[str, Any], dict[str, Any]]],
                  upsert: bool, multi: bool) -> dict[str, Any]:
    """One unordered `update` command; raises on anything but a lost guard."""
    reply = await collection.database.command({
        "update": collection.name, "ordered": False,
        "updates": [{"q": q, "u": u, "upsert": upsert, "multi": multi} for q, u in ops]})
    for error in reply.get("writeErrors", []):
        if error.get("code") != DUPLICATE_KEY:
            raise OperationFailure(error.get("errmsg", "write error"), error.get("code"), error)
    if reply.get("writeConcernError"):
        raise OperationFailure("write concern error", None, reply)
    return reply


async def guarded_updates(collection: AsyncCollection[dict[str, Any]],
                          ops: Sequence[tuple[dict[str, Any], dict[str, Any]]], *, upsert: bool = True,
                          multi: bool = False, chunk: int = UPDATE_CHUNK) -> set[int]:
    """Apply (filter, update) pairs unordered, one command per chunk; return the indexes whose guard lost.

    MongoDB runs every update of an unordered command and names each one that failed. FerretDB v1 stops at the
    first failure, runs nothing after it and names index 0 whichever update failed (its reply then lacks
    `nModified`). So such a chunk is run again one update per command: an update that had already been applied
    either matches again or is reported lost, and a lost one is redone by its caller's one-by-one path, which is
    idempotent; none is silently skipped.
    """
    lost: set[int] = set()
    for start in range(0, len(ops), chunk):
        part = ops[start:start + chunk]
        reply = await _update(collection, part, upsert, multi)
        errors = reply.get("writeErrors", [])
        if errors and "nModified" not in reply:
            for offset, op in enumerate(part):
                if (await _update(collection, [op], upsert, multi)).get("writeErrors"):
                    lost.add(start + offset)
            continue
        lost.update(start + int(error["index"]) for error in errors)
    return lost


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
