"""One service app, run in this process under a fresh consumer group, draining a backlog it did not see produced."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from faststream import TestApp
from pymongo import AsyncMongoClient

from clientbase.settings import KafkaSettings, LoggingSettings, MongoSettings

from benchmarks.support.counters import HARNESS_COMMENT

POLL_S = 1.0
SERVER_TIMEOUT_MS = 30_000  # a poll slower than this means the server stopped answering: the phase fails


async def drain_service(service: str, bootstrap: str, mongo_url: str, database: str, group: str, count: int,
                        log_level: str = "WARNING", **settings: Any) -> tuple[int, float]:
    """Run `service`'s real app until its done marks sum to `count`; return (events, first claim → last done s)."""
    create_app = importlib.import_module(f"{service}.app").create_app
    settings_type = importlib.import_module(f"{service}.settings").Settings
    config = settings_type(database=database, group_id=group, kafka=KafkaSettings(bootstrap_servers=bootstrap),
                           mongo=MongoSettings(url=mongo_url), logging=LoggingSettings(level=log_level), **settings)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True,
                                                               serverSelectionTimeoutMS=SERVER_TIMEOUT_MS,
                                                               socketTimeoutMS=SERVER_TIMEOUT_MS)
    events = mongo[database]["processed_events"]
    try:
        async with TestApp(create_app(config)):
            while await handled(events) < count:
                await asyncio.sleep(POLL_S)
        first = await events.find({"state": "claimed"}, comment=HARNESS_COMMENT).sort("claimed_at", 1).limit(1).to_list()
        last = await events.find({"state": "done"}, comment=HARNESS_COMMENT).sort("processed_at", -1).limit(1).to_list()
        return count, (last[0]["processed_at"] - first[0]["claimed_at"]).total_seconds()
    finally:
        await mongo.close()


async def handled(events: Any) -> int:
    """Events the service finished, read with the harness's comment so the counters leave it out."""
    marks = await events.find({"state": "done"}, projection={"count": 1}, comment=HARNESS_COMMENT).to_list()
    return sum(int(m.get("count", 1)) for m in marks)
