"""Bulk reads and inserts against the real MongoDB-compatible server: both read strategies agree."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clientbase.mongo_reads import KeyedReads, detect_strategy
from clientbase.mongo_writes import insert_new

pytestmark = pytest.mark.integration


async def test_point_lookups_and_in_read_the_same_documents(stack_endpoints: Any) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url)
    db = client[f"test_bulk_{uuid.uuid4().hex[:8]}"]
    try:
        collection = db["items"]
        await collection.create_index("group")
        assert await insert_new(collection, [{"_id": f"i{n}", "group": n % 3} for n in range(30)]) == set()
        assert await insert_new(collection, [{"_id": "i1", "group": 9}, {"_id": "new", "group": 9}]) == {"i1"}
        wanted = ["i1", "i2", "missing", "i2", "new"]
        by_in = await KeyedReads("in").by_ids(collection, wanted)
        by_point = await KeyedReads("point").by_ids(collection, wanted)
        assert by_in == by_point and sorted(by_in) == ["i1", "i2", "new"]
        assert by_in["i1"]["group"] == 1, "a duplicate insert keeps the stored document"
        grouped = await KeyedReads("point").by_field(collection, "group", [0, 9])
        assert sorted(d["_id"] for d in grouped) == sorted([f"i{n}" for n in range(0, 30, 3)] + ["new"])
        assert await detect_strategy(db) in {"in", "point"}
        assert await detect_strategy(db, "in") == "in"
    finally:
        await client.drop_database(db.name)
        await client.close()
