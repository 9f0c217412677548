"""The pre-filled topics and databases each service drains: form leads, registrations, notification requests, sales."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.events.outbound import ClientRegistered, LeadSource
from clientbase.mongo import ensure_indexes
from clientbase.mongo_reads import KeyedReads, detect_strategy

from benchmarks.intake.workload import measured_leads, prefill, produce
from benchmarks.metrics.lag import sale
from benchmarks.rotation import throughput as rotation_bench

MANAGERS = 20


async def create_prefixed_topics(bootstrap: str, prefix: str) -> None:
    """Every registry topic and its dead-letter topic under `prefix` (missing ones only)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(prefix + t.name, t.partitions, 1) for t in topics.TOPICS]
        wanted += [NewTopic(prefix + t.dlq, 1, 1) for t in topics.TOPICS]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


async def intake_backlog(bootstrap: str, mongo_url: str, prefix: str, database: str, leads: int, existing: int,
                         returning: float) -> None:
    """Intake's database with `existing` clients, and `leads` form leads on the prefixed form topic."""
    await create_prefixed_topics(bootstrap, prefix)
    await prefill(mongo_url, database, existing)
    await produce(bootstrap, prefix + topics.LEADS_FORM_SUBMITTED.name, measured_leads(leads, existing, returning))


async def rotation_backlog(bootstrap: str, mongo_url: str, run: str, database: str, group: str, events: int) -> None:
    """Rotation's roster, its group placed at the end of its inputs, then `events` new clients registered."""
    from rotation.repository import INDEXES, MANAGERS as ROSTER

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        await ensure_indexes(mongo[database], INDEXES)
        await mongo[database][ROSTER].insert_many(rotation_bench.roster(MANAGERS, capacity=events))
    finally:
        await mongo.close()
    await place_group_at_end(bootstrap, group, [t.name for t in rotation_bench.INPUTS])
    await rotation_bench.produce(bootstrap, [rotation_bench.registration(run, n) for n in range(events)])


async def place_group_at_end(bootstrap: str, group: str, names: list[str]) -> None:
    """Commit a consumer group at the end of these topics, so it reads only what comes after."""
    await rotation_bench.start_group_at(bootstrap, group, await rotation_bench.end_offsets(bootstrap, names))


def manager_docs(count: int) -> list[dict[str, Any]]:
    """The roster as notify keeps it (the shape of NotifyService.handle_managers)."""
    return [{"_id": f"m-{n:03}", "name": f"m{n}", "phone": None, "email": f"m{n}@company.example",
             "languages": ["ru"], "is_head": n == 0, "status": "active"} for n in range(count)]


def notification_request(n: int) -> bytes:
    """An internal email to a manager (no consent, quiet hours or frequency cap applies), sent at once."""
    return json.dumps({
        "event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(), "manager_id": f"m-{n % MANAGERS:03}",
        "channel": "email", "category": "internal", "template": "manager_new_client",
        "params": {"client_name": f"Bench {n}", "contacts": "—", "reason": "initial", "deadline": None},
    }).encode()


async def notify_backlog(bootstrap: str, mongo_url: str, prefix: str, database: str, requests: int) -> None:
    """Notify's managers, and `requests` notification requests on the prefixed topic."""
    from notify.repository import INDEXES, MANAGERS as ROSTER, NotifyRepository

    await create_prefixed_topics(bootstrap, prefix)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        await ensure_indexes(mongo[database], INDEXES)
        reads = KeyedReads(await detect_strategy(mongo[database]))
        await NotifyRepository(mongo[database], reads).upsert_snapshots(ROSTER, manager_docs(MANAGERS))
    finally:
        await mongo.close()
    await produce(bootstrap, prefix + topics.NOTIFICATIONS_REQUESTED.name,
                  [notification_request(n) for n in range(requests)])


def metrics_events(run: str, events: int) -> tuple[list[bytes], list[bytes]]:
    """(registrations, sales): one client registered per four sales, the sales spread over the last two years."""
    now = datetime.now(UTC)
    clients = max(1, events // 5)
    registrations = [ClientRegistered.create(
        source="bench", correlation_id=f"{run}-{i}", occurred_at=now - timedelta(days=730 - i % 700),
        client_id=f"{run}-{i}", kind="person", lead_source=LeadSource(channel="form", form_id="bench"),
        lead_event_id=f"{run}-{i}").model_dump_json().encode() for i in range(clients)]
    sales = [sale(f"{run}-{n % clients}", now - timedelta(days=700 - n % 700, minutes=n % 1440),
                  f"{run}-o{n}").model_dump_json().encode() for n in range(events - clients)]
    return registrations, sales


async def metrics_backlog(bootstrap: str, prefix: str, run: str, events: int) -> None:
    """`events` events on metrics' prefixed topics: registrations first, then sales."""
    await create_prefixed_topics(bootstrap, prefix)
    registrations, sales = metrics_events(run, events)
    await produce(bootstrap, prefix + topics.CLIENTS_REGISTERED.name, registrations)
    await produce(bootstrap, prefix + topics.SALES_ATTRIBUTED.name, sales)
