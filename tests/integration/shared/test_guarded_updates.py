"""Guarded and chunked updates on the real server: a lost guard is reported, no write after it is silently skipped,
and many matching updates finish on FerretDB v1 too."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.mongo_reads import detect_strategy
from clientbase.mongo_writes import bulk_update, guarded_updates, update_chunk


@pytest.fixture
def db(scratch_db: AsyncDatabase[dict[str, Any]]) -> AsyncDatabase[dict[str, Any]]:
    """A scratch database on the stack's server, dropped afterwards."""
    return scratch_db


async def test_writes_after_a_lost_guard_are_applied(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["managers"].insert_many([{"_id": "kept", "v": 5}, {"_id": "also-kept", "v": 9}])
    ops = [({"_id": "kept", "v": {"$lte": 1}}, {"$set": {"v": 1}}),  # an older change: its guard loses
           ({"_id": "new-1"}, {"$set": {"v": 1}}),
           ({"_id": "also-kept", "v": {"$lte": 2}}, {"$set": {"v": 2}}),  # loses too
           ({"_id": "new-2"}, {"$set": {"v": 2}}),
           ({"_id": "new-3"}, {"$set": {"v": 3}})]
    lost = await guarded_updates(db["managers"], ops, chunk=3)
    stored = {d["_id"]: d["v"] for d in await db["managers"].find({}).to_list()}
    assert lost >= {0, 2}  # FerretDB may also name writes it had applied before the failure: those are redone
    assert stored == {"kept": 5, "also-kept": 9, "new-1": 1, "new-2": 2, "new-3": 3}


async def test_replacements_guarded_by_revision_name_every_stale_one(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["states"].insert_many([{"_id": "a", "rev": 3, "v": "a3"}, {"_id": "c", "rev": 1, "v": "c1"}])
    ops = [({"_id": "a", "rev": 2}, {"_id": "a", "rev": 3, "v": "stale"}),  # read at rev 2: loses
           ({"_id": "b", "rev": 0}, {"_id": "b", "rev": 1, "v": "b1"}),  # a new state
           ({"_id": "c", "rev": 1}, {"_id": "c", "rev": 2, "v": "c2"})]  # current: applied
    lost = await guarded_updates(db["states"], ops)
    stored = {d["_id"]: (d["rev"], d["v"]) for d in await db["states"].find({}).to_list()}
    assert 0 in lost and 2 not in lost
    assert stored == {"a": (3, "a3"), "b": (1, "b1"), "c": (2, "c2")}


async def test_many_matching_updates_finish_on_the_server_at_hand(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["docs"].insert_many([{"_id": i, "v": 0} for i in range(600)])
    chunk = update_chunk(await detect_strategy(db))
    # FerretDB v1 holds a connection per matched update until its command ends: unchunked, this waits forever
    await asyncio.wait_for(asyncio.gather(
        bulk_update(db["docs"], [UpdateOne({"_id": i}, {"$set": {"v": 1}}) for i in range(300)], chunk),
        guarded_updates(db["docs"], [({"_id": i, "v": 0}, {"$set": {"v": 2}}) for i in range(300, 600)],
                        chunk=chunk)), timeout=120)
    stored = {d["_id"]: d["v"] for d in await db["docs"].find({}).to_list()}
    assert stored == {i: 1 if i < 300 else 2 for i in range(600)}
