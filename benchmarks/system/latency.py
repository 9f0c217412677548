"""Part C: end-to-end latency at a fixed offered load, open loop: form published → stored → assigned → email captured."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from clientbase import topics

from benchmarks.intake.workload import lead
from benchmarks.system.backlogs import MANAGERS

STAGES = ("stored", "assigned", "emailed")
PERSON = re.compile(r"(\d+)\s*$")
MAIL_PAGE = 500
PING_TIMEOUT_MS = 5000


def form_lead(person: int) -> tuple[str, bytes]:
    """(event id, body) of a lead of a new person, without consents (no confirmation mail beside the owner's)."""
    body = json.loads(lead(person))
    body.pop("consents")
    return body["event_id"], json.dumps(body).encode()


def manager_changed(n: int) -> bytes:
    """One manager of the roster both rotation and notify learn from `managers.changed`."""
    return json.dumps({"event_id": f"bench-manager-{n}", "occurred_at": "2026-01-01T00:00:00+00:00",
                       "manager_id": f"m-{n:03}", "name": f"Менеджер {n}", "email": f"m{n}@company.example",
                       "grade": 1, "status": "active", "capacity": 1_000_000, "regions": ["RU"],
                       "languages": ["ru"], "is_head": n == 0}).encode()


async def publish_roster(bootstrap: str) -> None:
    """Tell rotation and notify about the managers."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topics.MANAGERS_CHANGED.name, manager_changed(n),
                                                   key=f"m-{n:03}".encode()) for n in range(MANAGERS)])
    finally:
        await producer.stop()


class Outputs:
    """Reads `clients.registered` and `clients.assigned` from where they ended before the load, with timestamps."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.registered: dict[str, tuple[str, float]] = {}  # lead event id -> (client id, published s)
        self.assigned: dict[str, float] = {}  # client id -> published s

    async def start(self) -> None:
        """Assign every partition of both topics at its current end."""
        await self.consumer.start()
        parts = [TopicPartition(t.name, p) for t in (topics.CLIENTS_REGISTERED, topics.CLIENTS_ASSIGNED)
                 for p in range(t.partitions)]
        self.consumer.assign(parts)
        for tp, offset in (await self.consumer.end_offsets(parts)).items():
            self.consumer.seek(tp, offset)

    async def poll(self) -> None:
        """Take whatever arrived."""
        for tp, records in (await self.consumer.getmany(timeout_ms=200, max_records=5000)).items():
            for record in records:
                body = json.loads(record.value)
                if tp.topic == topics.CLIENTS_REGISTERED.name:
                    self.registered[body["lead_event_id"]] = (body["client_id"], record.timestamp / 1000)
                else:
                    self.assigned.setdefault(body["client_id"], record.timestamp / 1000)

    async def stop(self) -> None:
        """Close the consumer."""
        await self.consumer.stop()


class Mailbox:
    """The owners' emails the SMTP server (Mailpit) captured, kept as they arrive (Mailpit keeps only the newest)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=10)
        self.captured: dict[int, float] = {}  # person number -> captured s

    async def clear(self) -> None:
        """Delete every stored message."""
        (await self.http.delete("/api/v1/messages")).raise_for_status()

    async def poll(self) -> None:
        """Take the newest messages, one page."""
        listing = (await self.http.get("/api/v1/messages", params={"limit": MAIL_PAGE})).json()
        for message in listing.get("messages") or []:
            if (found := PERSON.search(message.get("Subject") or "")) is not None:
                self.captured.setdefault(int(found.group(1)), datetime.fromisoformat(message["Created"]).timestamp())

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()


async def answers(mongo: AsyncMongoClient[dict[str, Any]]) -> bool:
    """Whether the MongoDB-wire server still answers a ping within its timeout."""
    try:
        await mongo.admin.command("ping")
    except PyMongoError:
        return False
    return True


async def offered_load(bootstrap: str, mongo_url: str, mailpit_url: str, rate: float, duration_s: float,
                       first_person: int, drain_timeout_s: float) -> dict[str, Any]:
    """Publish leads at `rate`/s for `duration_s` on a fixed schedule, wait for their emails; latencies by stage.

    Stops waiting early when the MongoDB-wire server stops answering, and says when that happened.
    """
    outputs, mailbox = Outputs(bootstrap), Mailbox(mailpit_url)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, serverSelectionTimeoutMS=PING_TIMEOUT_MS,
                                                               socketTimeoutMS=PING_TIMEOUT_MS)
    stalled_at: float | None = None
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await asyncio.gather(outputs.start(), producer.start())
    await mailbox.clear()
    published: dict[int, tuple[str, float]] = {}
    count = max(1, round(rate * duration_s))
    try:
        watcher = asyncio.create_task(_watch(outputs, mailbox))
        started = time.perf_counter()
        pending = []
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            event_id, body = form_lead(first_person + i)
            published[first_person + i] = (event_id, time.time())
            pending.append(await producer.send(topics.LEADS_FORM_SUBMITTED.name, body, key=event_id.encode()))
        await asyncio.gather(*pending)
        offered_s = time.perf_counter() - started
        deadline = time.perf_counter() + drain_timeout_s
        while len(set(published) & set(mailbox.captured)) < count and time.perf_counter() < deadline:
            if not await answers(mongo):
                stalled_at = time.perf_counter() - started
                break
            await asyncio.sleep(0.5)
        watcher.cancel()
        await asyncio.gather(outputs.poll(), mailbox.poll())
    finally:
        await asyncio.gather(outputs.stop(), producer.stop(), mailbox.close(), mongo.close())
    return {"offered_per_s": rate, "leads": count, "offered_s": offered_s, "server_stalled_at_s": stalled_at,
            **latencies(published, outputs, mailbox)}


async def _watch(outputs: Outputs, mailbox: Mailbox) -> None:
    """Keep reading the outputs and the mailbox until cancelled."""
    while True:
        await asyncio.gather(outputs.poll(), mailbox.poll(), asyncio.sleep(0.5))


def latencies(published: dict[int, tuple[str, float]], outputs: Outputs, mailbox: Mailbox) -> dict[str, Any]:
    """Milliseconds from published to each stage, per lead that reached it, with how many did."""
    found: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for person, (event_id, at) in published.items():
        client_id, stored = outputs.registered.get(event_id, (None, None))
        if stored is not None:
            found["stored"].append((stored - at) * 1000)
        if client_id in outputs.assigned:
            found["assigned"].append((outputs.assigned[client_id] - at) * 1000)
        if person in mailbox.captured:
            found["emailed"].append((mailbox.captured[person] - at) * 1000)
    return {stage: percentiles(samples) for stage, samples in found.items()}


def percentiles(samples: list[float]) -> dict[str, float | int]:
    """How many samples, and their p50/p95/p99 in ms (nearest rank)."""
    ordered = sorted(samples)
    if not ordered:
        return {"reached": 0}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"reached": len(ordered), "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}
