"""Intake throughput on the real stack, side by side with a bare aiokafka -> pymongo bulk-write loop.

Run: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 MONGO_URL=mongodb://127.0.0.1:37017/ \
     uv run python benchmarks/intake/throughput.py --leads 2000

Both loops read the same pre-produced backlog of distinct form leads from a fresh 6-partition topic (so
consumer-group joins are not counted): the intake figure is leads handled end to end (parse, normalize,
claim identities, store facts, fold, publish `clients.registered`, mark processed) per second, measured from
the first to the last handled lead; the baseline decodes JSON and bulk-inserts each fetched batch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import TestApp
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.settings import KafkaSettings, LoggingSettings, MongoSettings

from clientbase.mongo import ensure_indexes

from intake.app import create_app
from intake.domain import IntakePolicy
from intake.repository import INDEXES, IntakeRepository
from intake.service import IntakeService
from intake.settings import Settings

OUTPUTS = (topics.CLIENTS_REGISTERED, topics.CLIENTS_UPDATED, topics.CLIENTS_MERGED, topics.LEADS_REJECTED,
           topics.SALES_ATTRIBUTED)
INPUTS = (topics.LEADS_FORM_SUBMITTED, topics.LEADS_CALL_RECEIVED, topics.SALES_RECORDED)


def lead(n: int) -> bytes:
    """One distinct, valid form lead."""
    return json.dumps({
        "event_id": str(uuid.uuid4()), "occurred_at": "2026-11-20T10:00:00+03:00", "form_id": "bench",
        "utm": {"source": "google"}, "fields": {"name": f"Тест {n}", "phone": f"8 916 {n // 10000 % 1000:03d}"
                                                 f" {n % 10000:04d}", "email": f"bench{n}@mail.ru"},
        "consents": [{"channel": "email", "granted": True, "text": "ok", "text_version": "1"}], "locale": "ru-RU",
    }).encode()


async def prepare(bootstrap: str, prefix: str, count: int) -> None:
    """Create the prefixed topics and produce the backlog."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + t.name, t.partitions, 1) for t in (*INPUTS, *OUTPUTS)]
                                  + [NewTopic(prefix + t.dlq, 1, 1) for t in INPUTS])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(prefix + topics.LEADS_FORM_SUBMITTED.name, lead(n), key=str(n).encode())
                   for n in range(count)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def run_intake(bootstrap: str, mongo_url: str, prefix: str, count: int, consumers: int) -> float:
    """Handle the backlog with one intake replica; return leads per second."""
    settings = Settings(database=f"bench_intake_{prefix.strip('.')}", group_id=f"bench-{prefix.strip('.')}",
                        topic_prefix=prefix, consumers_per_topic=consumers,
                        kafka=KafkaSettings(bootstrap_servers=bootstrap), mongo=MongoSettings(url=mongo_url),
                        logging=LoggingSettings(level="WARNING"))
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = mongo[settings.database]
    try:
        async with TestApp(create_app(settings)):
            while await db["processed_events"].count_documents({}) < count:
                await asyncio.sleep(0.5)
        times = [d["processed_at"] async for d in db["processed_events"].find({}, projection={"processed_at": 1})]
        span = (max(times) - min(times)).total_seconds()
        return count / span
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()


class _NoPublisher:
    """Publisher that drops events, to time the use case alone."""

    async def publish(self, topic: Any, event: Any, *, key: str) -> None:
        """Drop one event."""


async def run_use_case(mongo_url: str, count: int) -> float:
    """The intake use case alone (no Kafka, no consumer bookkeeping) on the same leads; return leads per second."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = mongo[f"bench_usecase_{uuid.uuid4().hex[:8]}"]
    await ensure_indexes(db, INDEXES)
    service = IntakeService(IntakeRepository(db), _NoPublisher(), IntakePolicy())
    bodies = [lead(n) for n in range(count)]
    try:
        started = time.perf_counter()
        for body in bodies:
            await service.ingest(topics.LEADS_FORM_SUBMITTED, body)
        return count / (time.perf_counter() - started)
    finally:
        await mongo.drop_database(db.name)
        await mongo.close()


async def run_baseline(bootstrap: str, mongo_url: str, prefix: str, count: int) -> float:
    """Consume the same backlog with bare aiokafka and bulk-insert each batch; return events per second."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = mongo[f"bench_baseline_{prefix.strip('.')}"]
    consumer = AIOKafkaConsumer(prefix + topics.LEADS_FORM_SUBMITTED.name, bootstrap_servers=bootstrap,
                                group_id=f"bench-baseline-{prefix.strip('.')}", auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    handled, started = 0, None
    try:
        while handled < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                continue
            started = started or time.perf_counter()
            docs = [{"_id": (body := json.loads(r.value))["event_id"], "body": body} for r in records]
            await db["leads"].insert_many(docs, ordered=False)
            await consumer.commit()
            handled += len(records)
        return count / (time.perf_counter() - started) if started else 0.0
    finally:
        await consumer.stop()
        await mongo.drop_database(db.name)
        await mongo.close()


async def main() -> None:
    """Run both loops on the same backlog size and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 6],
                        help="Kafka consumers per topic in the intake process; one figure for each.")
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    mongo_url = os.environ.get("MONGO_URL", "mongodb://127.0.0.1:27017/")
    intake_rates: dict[int, list[float]] = {n: [] for n in args.consumers}
    baseline_rates: list[float] = []
    for _ in range(args.rounds):
        for consumers in args.consumers:
            prefix = f"bench{uuid.uuid4().hex[:8]}."
            await prepare(bootstrap, prefix, args.leads)
            if consumers == args.consumers[0]:
                baseline_rates.append(await run_baseline(bootstrap, mongo_url, prefix, args.leads))
            intake_rates[consumers].append(await run_intake(bootstrap, mongo_url, prefix, args.leads, consumers))
    baseline = statistics.median(baseline_rates)
    use_case = await run_use_case(mongo_url, args.leads)
    print(f"leads per run:            {args.leads} distinct form leads, 6 partitions, rounds: {args.rounds}")
    print(f"bare aiokafka -> bulk:    {baseline:8.1f} events/s")
    print(f"use case only, 1 task:    {use_case:8.1f} leads/s  ({1000 / use_case:6.2f} ms per lead, no Kafka, "
          "no consumer bookkeeping)")
    for consumers, rates in intake_rates.items():
        rate = statistics.median(rates)
        print(f"intake, {consumers} consumer(s):    {rate:8.1f} leads/s  ({1000 / rate:6.2f} ms per lead, "
              f"ratio to baseline {rate / baseline:.3f})")


if __name__ == "__main__":
    asyncio.run(main())
