"""Benchmark (not a test): client registrations -> first assignments through the real broker and database.

Run: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 MONGO_URL=mongodb://127.0.0.1:27017/ \
     uv run python benchmarks/rotation/throughput.py --events 2000

A roster is stored first, then a backlog of N distinct `clients.registered` events is produced, then the rotation
app runs in-process under a fresh consumer group that starts at the backlog (consumer-group joins are not
counted: the rate is N / (last done mark - first claim)). Counted while it runs: MongoDB commands (reads and
writes apart, by PyMongo command monitoring), Kafka requests (every request aiokafka's connections send, by
type), CPU seconds and peak RSS of this process. In the same run, on the same backlog: a bare aiokafka ->
pymongo bulk-insert loop (the ratio DESIGN §4 asks for), and the use case without Kafka, batch path vs the
event-by-event path, in commands per event. Prints a table and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.conn import AIOKafkaConnection
from faststream import TestApp
from pymongo import AsyncMongoClient, monitoring

from clientbase import topics
from clientbase.kafka.stores import handled_events
from clientbase.events.outbound import ClientRegistered, LeadSource
from clientbase.kafka.reliability import Delivery
from clientbase.mongo import ensure_indexes
from clientbase.mongo_reads import KeyedReads, detect_strategy
from clientbase.settings import KafkaSettings, LoggingSettings, MongoSettings

from rotation.app import create_app
from rotation.batch import RotationBatches
from rotation.domain import Rules
from rotation.repository import INDEXES, MANAGERS, RotationRepository
from rotation.service import RotationService
from rotation.settings import Settings

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WRITES = {"insert", "update", "delete", "findAndModify"}
READS = {"find", "getMore", "aggregate", "count", "distinct"}
INPUTS = (topics.MANAGERS_CHANGED, topics.CLIENTS_REGISTERED, topics.CLIENTS_UPDATED, topics.CLIENTS_MERGED,
          topics.SALES_ATTRIBUTED, topics.ACTIVITIES_RECORDED, topics.CLIENTS_INACTIVE)


class Commands(monitoring.CommandListener):
    """Counts the commands sent to one database, by name."""

    def __init__(self) -> None:
        self.database: str | None = None
        self.names: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.database:
            self.names[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def split(self) -> dict[str, int]:
        """Reads, writes and other commands counted so far."""
        reads = sum(n for c, n in self.names.items() if c in READS)
        writes = sum(n for c, n in self.names.items() if c in WRITES)
        return {"reads": reads, "writes": writes, "other": sum(self.names.values()) - reads - writes}


class KafkaRequests:
    """Counts every request aiokafka's connections send in this process, by request type."""

    def __init__(self) -> None:
        self.names: Counter[str] = Counter()
        self._send = AIOKafkaConnection.send

    def install(self) -> None:
        """Wrap the connection's send."""
        counter, original = self, self._send

        def send(conn: AIOKafkaConnection, request: Any, expect_response: bool = True) -> Any:
            counter.names[type(request).__name__.removesuffix("Request").rstrip("_v0123456789")] += 1
            return original(conn, request, expect_response)
        AIOKafkaConnection.send = send  # type: ignore[method-assign]

    def uninstall(self) -> None:
        """Restore the connection's send."""
        AIOKafkaConnection.send = self._send  # type: ignore[method-assign]


class Sink:
    """A publisher that only counts, for the use case without Kafka."""

    def __init__(self) -> None:
        self.count = 0

    async def publish(self, topic: Any, event: Any, *, key: str) -> None:
        self.count += 1

    async def publish_all(self, items: Any) -> None:
        self.count += len(list(items))


def registration(run: str, n: int) -> ClientRegistered:
    """One distinct new client."""
    return ClientRegistered.create(source="intake", lead_source=LeadSource(channel="form"), correlation_id=f"l-{run}-{n}",
                                   occurred_at=AT - timedelta(seconds=n), client_id=f"c-{run}-{n:07}",
                                   lead_event_id=f"l-{run}-{n}", kind="person", country="RU", language="ru")


def roster(count: int, capacity: int) -> list[dict[str, Any]]:
    """Stored roster documents: active managers of one grade."""
    return [{"_id": f"m-{n:03}", "name": f"m{n}", "grade": 1, "status": "active", "capacity": capacity,
             "regions": ["RU"], "languages": ["ru"], "is_head": False, "occurred_at": AT - timedelta(days=30)}
            for n in range(count)]


async def end_offsets(bootstrap: str, names: list[str]) -> dict[TopicPartition, int]:
    """The end offset of every partition of these topics."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in names for p in (consumer.partitions_for_topic(t) or
                                                            await _partitions(consumer, t))]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 - the public call needs a subscription
    return consumer._client.cluster.partitions_for_topic(topic) or set()  # noqa: SLF001


async def start_group_at(bootstrap: str, group_id: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit a consumer group's offsets, so it reads only what comes after."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def produce(bootstrap: str, events: list[ClientRegistered]) -> None:
    """The backlog, keyed by client as intake publishes it."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topics.CLIENTS_REGISTERED.name, e.model_dump_json().encode(),
                                       key=e.client_id.encode(), headers=[("event_id", e.event_id.encode())])
                   for e in events]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def run_service(bootstrap: str, mongo_url: str, run: str, count: int, managers: int,
                      commands: Commands, kafka: KafkaRequests) -> dict[str, Any]:
    """The rotation app over the backlog; returns its figures."""
    settings = Settings(database=f"bench_rotation_tp_{run}", group_id=f"bench-rotation-{run}",
                        kafka=KafkaSettings(bootstrap_servers=bootstrap), mongo=MongoSettings(url=mongo_url),
                        logging=LoggingSettings(level="WARNING"))
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = mongo[settings.database]
    try:
        await ensure_indexes(db, INDEXES)
        await db[MANAGERS].insert_many(roster(managers, capacity=count))
        await start_group_at(bootstrap, settings.group_id,
                             await end_offsets(bootstrap, [t.name for t in INPUTS]))
        await produce(bootstrap, [registration(run, n) for n in range(count)])
        commands.database, commands.names = settings.database, Counter()
        kafka.names.clear()
        cpu0, wall0 = _cpu(), time.perf_counter()
        async with TestApp(create_app(settings)):
            while await handled_events(db) < count:
                await asyncio.sleep(1.0)
            counted = commands.split()
            requests = Counter(kafka.names)
        cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
        commands.database = None
        first = await db["processed_events"].find({"claimed_at": {"$exists": True}}).sort("claimed_at", 1).limit(1).to_list()
        last = await db["processed_events"].find({"processed_at": {"$exists": True}}).sort("processed_at", -1).limit(1).to_list()
        span = (last[0]["processed_at"] - first[0]["claimed_at"]).total_seconds()
        assigned = await db["assignments"].count_documents({})
        assert assigned == count, (assigned, count)
        own_reads = counted["reads"] - 0
        return {"events": count, "events_per_s": count / span, "span_s": span, "wall_s": wall, "cpu_s": cpu,
                "mongo_reads_per_event": own_reads / count, "mongo_writes_per_event": counted["writes"] / count,
                "mongo_other_commands": counted["other"], "kafka_requests_per_event": sum(requests.values()) / count,
                "kafka_requests": dict(requests), "assigned": assigned}
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()


async def run_baseline(bootstrap: str, mongo_url: str, run: str, start: dict[TopicPartition, int],
                       count: int) -> float:
    """The same backlog through bare aiokafka and one bulk insert per fetched batch; events per second."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = mongo[f"bench_rotation_base_{run}"]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"bench-rotation-base-{run}",
                                enable_auto_commit=False)
    await consumer.start()
    handled, started = 0, None
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        while handled < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                continue
            started = started or time.perf_counter()
            docs = [{"_id": (body := json.loads(r.value))["event_id"], "body": body} for r in records]
            await db["events"].insert_many(docs, ordered=False)
            await consumer.commit()
            handled += len(records)
        return count / (time.perf_counter() - started) if started else 0.0
    finally:
        await consumer.stop()
        await mongo.drop_database(db.name)
        await mongo.close()


async def run_use_case(mongo_url: str, run: str, count: int, managers: int, commands: Commands, *,
                       one_by_one: bool) -> dict[str, float]:
    """The use case without Kafka on batches of 500, as fresh batches or event by event; commands per event."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = mongo[f"bench_rotation_uc_{run}_{int(one_by_one)}"]
    try:
        await ensure_indexes(db, INDEXES)
        await db[MANAGERS].insert_many(roster(managers, capacity=count))
        reads = KeyedReads(await detect_strategy(db))
        batches = RotationBatches(RotationService(RotationRepository(db), Sink(), Rules()), reads)
        events = [registration(f"{run}u", n) for n in range(count)]
        commands.database, commands.names = db.name, Counter()
        started = time.perf_counter()
        for first in range(0, count, 500):
            chunk = [replace(Delivery.of(_record(e, first + i)), redelivered=one_by_one)
                     for i, e in enumerate(events[first:first + 500])]
            await batches.client_events(topics.CLIENTS_REGISTERED, chunk)
        seconds = time.perf_counter() - started
        counted = commands.split()
        commands.database = None
        return {"events_per_s": count / seconds, "reads_per_event": counted["reads"] / count,
                "writes_per_event": counted["writes"] / count}
    finally:
        await mongo.drop_database(db.name)
        await mongo.close()


def _record(event: ClientRegistered, offset: int) -> ConsumerRecord[bytes, bytes]:
    body = event.model_dump_json().encode()
    return ConsumerRecord(topics.CLIENTS_REGISTERED.name, 0, offset, 0, 0, None, body, None, 0, len(body),
                          [("event_id", event.event_id.encode())])


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main() -> None:
    """Run everything once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000, help="client registrations in the backlog")
    parser.add_argument("--managers", type=int, default=20)
    parser.add_argument("--json", default=os.path.join(tempfile.gettempdir(), "rotation_throughput.json"),
                        help="where to write the figures")
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    mongo_url = os.environ.get("MONGO_URL", "mongodb://127.0.0.1:27017/")
    run = uuid.uuid4().hex[:8]
    commands, kafka = Commands(), KafkaRequests()
    monitoring.register(commands)
    kafka.install()
    try:
        start = await end_offsets(bootstrap, [topics.CLIENTS_REGISTERED.name])
        service = await run_service(bootstrap, mongo_url, run, args.events, args.managers, commands, kafka)
    finally:
        kafka.uninstall()
    baseline = await run_baseline(bootstrap, mongo_url, run, start, args.events)
    batch = await run_use_case(mongo_url, run, args.events, args.managers, commands, one_by_one=False)
    single = await run_use_case(mongo_url, run, args.events, args.managers, commands, one_by_one=True)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"events": args.events, "managers": args.managers, "kafka": bootstrap, "service": service,
               "baseline_events_per_s": baseline, "ratio_to_baseline": service["events_per_s"] / baseline,
               "use_case_batch": batch, "use_case_one_by_one": single, "peak_rss_mb": peak_rss_mb}
    rows = [
        ("rotation app (Kafka + MongoDB)", f"{service['events_per_s']:.1f}", f"{service['mongo_reads_per_event']:.3f}",
         f"{service['mongo_writes_per_event']:.3f}", f"{service['kafka_requests_per_event']:.3f}"),
        ("bare aiokafka -> bulk insert", f"{baseline:.1f}", "-", "-", "-"),
        ("use case, batches of 500", f"{batch['events_per_s']:.1f}", f"{batch['reads_per_event']:.3f}",
         f"{batch['writes_per_event']:.3f}", "-"),
        ("use case, event by event", f"{single['events_per_s']:.1f}", f"{single['reads_per_event']:.3f}",
         f"{single['writes_per_event']:.3f}", "-"),
    ]
    print(f"events={args.events} managers={args.managers} (one backlog of clients.registered, first assignments)")
    print(f"{'path':<32}{'events/s':>10}{'reads/ev':>10}{'writes/ev':>11}{'kafka req/ev':>14}")
    for row in rows:
        print(f"{row[0]:<32}{row[1]:>10}{row[2]:>10}{row[3]:>11}{row[4]:>14}")
    print(f"ratio to baseline: {figures['ratio_to_baseline']:.3f}; app CPU {service['cpu_s']:.2f} s over "
          f"{service['wall_s']:.1f} s wall (incl. group join); peak RSS {peak_rss_mb:.0f} MB")
    print("kafka requests by type: " + ", ".join(f"{k}={v}" for k, v in sorted(service["kafka_requests"].items())))
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump(figures, out, indent=2)
    print(f"figures written to {args.json}")


if __name__ == "__main__":
    asyncio.run(main())
