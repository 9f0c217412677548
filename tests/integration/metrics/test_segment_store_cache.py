"""The segment store serves states it wrote from memory, and a state another writer moved on is read again."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.mongo_reads import KeyedReads, detect_strategy
from clientbase.testing.round_trips import Commands

from metrics.segment_store import SegmentStore
from metrics.segments import new_state

pytestmark = pytest.mark.integration


async def test_a_written_state_is_served_without_a_read_until_another_writer_moves_it_on(
        scratch_db: AsyncDatabase[dict[str, Any]], stack_endpoints: Any) -> None:
    commands = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True,
                                                                event_listeners=[commands])
    try:
        reads = KeyedReads(await detect_strategy(scratch_db))
        mine = SegmentStore(client[scratch_db.name], reads)
        other = SegmentStore(scratch_db, reads)  # a second replica
        assert await mine.save([new_state("cl-1"), new_state("cl-2")]) == set()

        commands.names.clear()
        cached = await mine.load(["cl-1", "cl-2"])
        assert not commands.names and {s["rev"] for s in cached.values()} == {1}
        cached["cl-1"]["kind"] = "company"  # the caller's copy: what is kept in memory does not change with it
        assert (await mine.load(["cl-1"]))["cl-1"]["kind"] == "person"

        theirs = (await other.load(["cl-1"]))["cl-1"]
        assert await other.save([{**theirs, "hot_signal_at": None, "region": "BG"}]) == set()

        stale = await mine.load(["cl-1", "cl-2"])
        # the stale state first: FerretDB v1 may report an update it applied before a lost one as lost too
        assert await mine.save([stale["cl-1"], stale["cl-2"]]) == {"cl-1"}  # the stale one loses, the other is written
        commands.names.clear()
        fresh = await mine.load(["cl-1", "cl-2"])
        assert fresh["cl-1"]["region"] == "BG" and fresh["cl-1"]["rev"] == 2 and fresh["cl-2"]["rev"] == 2
        assert commands.names == {"find": 1}, commands.names  # only the state that lost is read
    finally:
        await client.close()
