"""Bulk writes that name the documents that lost: inserts that already existed, guarded updates whose guard failed.

Guarded writes are upserts whose filter pins the `_id` and the state a batch read: when the stored document no
longer matches, the upsert collides with it (duplicate key), which names exactly the write that lost, on MongoDB
and on FerretDB v1 alike. The unordered `update` command is sent as a command because FerretDB v1 omits the
`nModified` count from a reply that carries write errors, which the driver's `bulk_write` needs.

Update commands go to FerretDB v1 in small chunks, one after another: its `update` command keeps the query of every
update that matched a document open, holding one PostgreSQL connection each, until the whole command ends. A command
with more matching updates than its connection pool has (or a few such commands at once) waits for itself forever,
and with it every other client of the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, OperationFailure

DUPLICATE_KEY = 11000


async def insert_new(collection: AsyncCollection[dict[str, Any]], documents: Sequence[dict[str, Any]]) -> set[Any]:
    """Insert documents in one unordered command; return the `_id`s that already existed (duplicates are not errors)."""
    if not documents:
        return set()
    try:
        await collection.insert_many(list(documents), ordered=False)
    except BulkWriteError as error:
        details = error.details.get("writeErrors", [])
        others = [e for e in details if e.get("code") != DUPLICATE_KEY]
        if others or error.details.get("writeConcernErrors"):
            raise
        return {documents[e["index"]]["_id"] for e in details}
    return set()


UPDATE_CHUNK = 1000
FERRETDB_UPDATE_CHUNK = 16  # far below FerretDB's pool: a command holds one connection per matched update


def update_chunk(read_strategy: str) -> int:
    """Updates per command for the server the reads were tuned for: point lookups mean FerretDB v1."""
    return FERRETDB_UPDATE_CHUNK if read_strategy == "point" else UPDATE_CHUNK


async def bulk_update(collection: AsyncCollection[dict[str, Any]], ops: Sequence[UpdateOne | ReplaceOne],
                      chunk: int = UPDATE_CHUNK) -> None:
    """Unguarded updates (no write may fail), one unordered command per chunk, chunks one after another."""
    for start in range(0, len(ops), chunk):
        await collection.bulk_write(list(ops[start:start + chunk]), ordered=False)


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
