"""The two floors intake is measured against, each a hand-written aiokafka + PyMongo loop with no framework.

- bare: `getmany` → `insert_many(ordered=False)` of the decoded events → commit.
- equal work: per batch the same round trips intake makes: claim the event ids, claim the identities
  (reading back the ones that existed), read the merges and facts of the existing clients they point at,
  insert the facts and the registrations, publish one event per lead with the acks awaited together, mark
  the batch done, commit.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from clientbase.mongo_reads import KeyedReads, detect_strategy
from clientbase.mongo_writes import insert_new

BATCH = 500
IDLE_POLLS_TO_STOP = 6


async def _drain(bootstrap: str, topic: str, group: str, count: int, handle: Any) -> tuple[int, float]:
    """Consume `count` records in batches through `handle`, committing after each; return (records, seconds)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_interval_ms=900_000)
    await consumer.start()
    handled, started, idle = 0, None, 0
    try:
        while handled < count and idle < IDLE_POLLS_TO_STOP:
            batch = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                idle += started is not None
                continue
            started = started or time.perf_counter()
            await handle(records)
            await consumer.commit()
            handled += len(records)
        return handled, time.perf_counter() - started if started else 0.0
    finally:
        await consumer.stop()


async def bare_floor(bootstrap: str, mongo_url: str, topic: str, group: str, database: str,
                     count: int) -> tuple[int, float]:
    """The bare floor: decode, bulk insert, commit."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    collection = mongo[database]["leads"]

    async def handle(records: list[Any]) -> None:
        docs = [{"_id": (body := json.loads(r.value))["event_id"], "body": body} for r in records]
        await insert_new(collection, docs)

    try:
        return await _drain(bootstrap, topic, group, count, handle)
    finally:
        await mongo.close()


async def equal_work_floor(bootstrap: str, mongo_url: str, topic: str, group: str, database: str,
                           count: int) -> tuple[int, float]:
    """The equal-work floor: intake's round trips for a batch of new leads, without its framework or rules."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = mongo[database]
    reads = KeyedReads(await detect_strategy(db))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()

    async def handle(records: list[Any]) -> None:
        now = datetime.now(UTC)
        leads = [json.loads(r.value) for r in records]
        keys = [f"processed:{lead['event_id']}" for lead in leads]
        await insert_new(db["processed_events"], [{"_id": k, "state": "claimed", "claimed_at": now} for k in keys])
        claims: dict[str, dict[str, Any]] = {}
        for lead in leads:
            client = "cl-" + lead["event_id"]
            for key in (f"phone:{lead['fields']['phone']}", f"email:{lead['fields']['email']}"):
                claims.setdefault(key, {"_id": key, "client_id": client, "lead_event_id": lead["event_id"]})
        existing = await insert_new(db["identities"], list(claims.values()))
        owners = {str(o["client_id"]) for o in (await reads.by_ids(db["identities"], existing)).values()}
        await reads.by_ids(db["merges"], owners)
        known = await reads.by_field(db["client_facts"], "client_id", owners)
        positions = {f["client_id"]: int(f["_id"].rsplit("#", 1)[1]) + 1 for f in known}
        survivors = [str(claims[f"phone:{lead['fields']['phone']}"]["client_id"]) for lead in leads]
        await insert_new(db["client_facts"], [
            {"_id": f"{c}#{positions.get(c, 0) + i:06d}", "client_id": c, "fragment": lead}
            for i, (c, lead) in enumerate(zip(survivors, leads, strict=True))])
        await insert_new(db["registrations"], [{"_id": c, "registered_at": now} for c in survivors])
        futures = [await producer.send("floor." + topic, json.dumps({"client_id": c, **lead}).encode(),
                                       key=c.encode()) for c, lead in zip(survivors, leads, strict=True)]
        await asyncio.gather(*futures)
        await insert_new(db["processed_events"], [{"_id": "done|" + uuid.uuid4().hex, "state": "done",
                                                   "count": len(keys)}])

    try:
        return await _drain(bootstrap, topic, group, count, handle)
    finally:
        await producer.stop()
        await mongo.close()
