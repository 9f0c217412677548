"""Guarded updates on the real server: a lost guard is reported, and no write after it is silently skipped."""

from __future__ import annotations

import uuid

from pymongo import AsyncMongoClient

from rotation.bulk import guarded_updates


async def test_writes_after_a_lost_guard_are_applied(stack_endpoints) -> None:
    client: AsyncMongoClient = AsyncMongoClient(stack_endpoints.mongo_url)
    db = client[f"test_guarded_{uuid.uuid4().hex[:8]}"]
    try:
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
    finally:
        await client.drop_database(db.name)
        await client.close()
