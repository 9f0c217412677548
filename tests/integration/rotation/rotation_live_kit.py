"""Kit for rotation integration tests: the real app in-process on the real broker and database."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream import TestApp
from pymongo import AsyncMongoClient

from clientbase.testing.kafka_io import wait_for as poll_until
from clientbase import topics
from clientbase.events.inbound import ManagerChanged
from clientbase.events.outbound import ClientRegistered, LeadSource
from clientbase.settings import KafkaSettings, MongoSettings, ReliabilitySettings
from clientbase.topics import Topic

from rotation.app import create_app
from rotation.settings import Settings

pytestmark = pytest.mark.integration

INPUTS = (topics.MANAGERS_CHANGED, topics.CLIENTS_REGISTERED, topics.CLIENTS_UPDATED, topics.CLIENTS_MERGED,
          topics.SALES_ATTRIBUTED, topics.ACTIVITIES_RECORDED, topics.CLIENTS_INACTIVE, topics.CLIENTS_REASSIGN_REQUESTED)
OUTPUTS = (topics.CLIENTS_ASSIGNED, topics.CLIENTS_INACTIVE, topics.HANDOVERS_OPENED, topics.HANDOVERS_OVERDUE,
           topics.ROTATIONS_DEFERRED, topics.CLIENTS_REASSIGN_REFUSED, topics.CLIENTS_HOT_UNTOUCHED)
AS_OF = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def current_offsets(bootstrap: str, registered: list[Topic]) -> dict[TopicPartition, int]:
    """The end offset of every partition of these registry topics."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(t.name, p) for t in registered for p in range(t.partitions)]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def commit_offsets(bootstrap: str, group_id: str, offsets: dict[TopicPartition, int]) -> None:
    """Start a consumer group at given offsets, so it ignores what others published before the test."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 240.0) -> None:
    """Poll until a condition holds; rebalances on the shared broker make the default generous."""
    await poll_until(predicate, timeout_s=timeout)


@dataclass
class Live:
    """One test's rotation service on the real stack, its inputs and everything it published."""

    endpoints: Any
    suffix: str
    settings: Settings
    start: dict[TopicPartition, int]
    producer: AIOKafkaProducer
    db: Any
    seen: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def grade(self) -> int:
        """A grade no other test's managers have, so managers left on the shared roster topic cannot interfere."""
        return 100 + int(self.suffix, 16) % 1_000_000 * 3

    def id(self, name: str) -> str:
        """A name unique to this test."""
        return f"{name}-{self.suffix}"

    def mine(self, topic: Topic, **match: Any) -> list[dict[str, Any]]:
        """This test's events seen on a topic, optionally matching field values."""
        return [e for e in self.seen.get(topic.name, []) if all(e.get(k) == v for k, v in match.items())]

    async def send(self, topic: Topic, event: Any, key: str) -> None:
        """Publish an input event as an outside producer would."""
        await self.producer.send_and_wait(topic.name, event.model_dump_json().encode(), key=key.encode(),
                                          headers=[("event_id", event.event_id.encode())])

    def settings_for(self, group_id: str) -> Settings:
        """The same service settings under another consumer group."""
        return self.settings.model_copy(update={"group_id": group_id})

    async def prepared_app(self, group_id: str | None = None) -> Any:
        """The rotation app, its consumer group set to start at the test's first offsets."""
        settings = self.settings if group_id is None else self.settings_for(group_id)
        await commit_offsets(self.endpoints.kafka_bootstrap, settings.group_id,
                             {tp: o for tp, o in self.start.items() if tp.topic in {t.name for t in INPUTS}})
        return create_app(settings)

    @asynccontextmanager
    async def app(self, group_id: str | None = None) -> AsyncIterator[Any]:
        """Run the rotation app in-process and hand it over; a new group starts at the test's first offsets."""
        app = await self.prepared_app(group_id)
        async with TestApp(app):
            yield app

    def manager(self, name: str, grade: int, status: str = "active", **kw: Any) -> ManagerChanged:
        """A roster event for a manager of this test."""
        return ManagerChanged(event_id=str(uuid.uuid4()), occurred_at=kw.pop("at", AS_OF - timedelta(days=1000)),
                              manager_id=self.id(name), name=name, grade=grade, status=status,
                              capacity=kw.pop("capacity", 1000), regions=[f"Z{self.suffix}"],
                              languages=[f"l{self.suffix}"], **kw)

    def registered(self, name: str, at: datetime, handled_by: str) -> ClientRegistered:
        """A client registration by intake, answered by one of this test's managers."""
        return ClientRegistered.create(source="intake", lead_source=LeadSource(channel="call"),
                                       correlation_id=str(uuid.uuid4()), occurred_at=at, client_id=self.id(name),
                                       kind="person", lead_event_id=str(uuid.uuid4()),
                                       handled_by_manager_id=self.id(handled_by))


async def collect(bootstrap: str, start: dict[TopicPartition, int], suffix: str,
                  seen: dict[str, list[dict[str, Any]]]) -> None:
    """Read the service's outputs from the test's first offsets, keeping this test's events only."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [tp for tp in start if tp.topic in {t.name for t in OUTPUTS}]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start[tp])
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                for record in records:
                    body = json.loads(record.value)
                    if str(body.get("client_id", "")).endswith(suffix):
                        seen.setdefault(tp.topic, []).append(body)
    finally:
        await consumer.stop()


@pytest.fixture
async def live(stack_endpoints: Any) -> AsyncIterator[Live]:
    """A fresh database and consumer group, an input producer and an output collector."""
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(database=f"test_rotation_i_{suffix}", group_id=f"test-rotation-i-{suffix}", api_token="test-token",
                        kafka=KafkaSettings(bootstrap_servers=stack_endpoints.kafka_bootstrap),
                        mongo=MongoSettings(url=stack_endpoints.mongo_url),
                        reliability=ReliabilitySettings(max_attempts=3, backoff_initial_s=0.05, backoff_max_s=0.2))
    start = await current_offsets(stack_endpoints.kafka_bootstrap, list({*INPUTS, *OUTPUTS}))
    producer = AIOKafkaProducer(bootstrap_servers=stack_endpoints.kafka_bootstrap)
    await producer.start()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
    seen: dict[str, list[dict[str, Any]]] = {}
    collector = asyncio.create_task(collect(stack_endpoints.kafka_bootstrap, start, suffix, seen))
    try:
        yield Live(stack_endpoints, suffix, settings, start, producer, mongo[settings.database], seen)
    finally:
        collector.cancel()
        await asyncio.gather(collector, return_exceptions=True)
        await producer.stop()
        await mongo.drop_database(settings.database)
        await mongo.close()
