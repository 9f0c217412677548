"""Harness for rotation component tests: the real handlers on an in-memory broker, MongoDB for state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import TestKafkaBroker

from clientbase.events.envelope import Envelope
from clientbase.events.inbound import ManagerChanged
from clientbase.events.outbound import ClientRegistered, LeadSource
from clientbase.kafka.reliability import Delivery
from clientbase.runtime import ServiceRuntime
from clientbase.settings import KafkaSettings, MongoSettings
from clientbase.topics import Topic

from rotation.batch import RotationBatches
from rotation.handlers import build_router
from rotation.repository import RotationRepository
from rotation.app import build_runtime
from rotation.service import RotationService
from rotation.settings import Settings
from rotation.sweep import Sweeper

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Recorder:
    """Records every event the service publishes, then passes it on to the real publisher."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.events: list[tuple[str, Envelope]] = []

    async def publish(self, topic: Topic, event: Envelope, *, key: str) -> None:
        self.events.append((topic.name, event))
        await self.inner.publish(topic, event, key=key)

    async def publish_all(self, items: Any) -> None:
        items = list(items)
        self.events.extend((topic.name, event) for topic, event, _ in items)
        await self.inner.publish_all(items)

    def of(self, topic: Topic) -> list[Any]:
        return [e for name, e in self.events if name == topic.name]


@dataclass
class Harness:
    """The service under test with its in-memory broker and helpers."""

    runtime: ServiceRuntime
    settings: Settings
    broker: Any
    recorder: Recorder
    published: list[Any] = field(default_factory=list)

    @property
    def service(self) -> RotationService:
        return RotationService(RotationRepository(self.runtime.db), self.recorder, self.settings.rules())

    @property
    def batches(self) -> RotationBatches:
        return RotationBatches(self.service, self.runtime.reads, retry_batch_size=self.settings.unassigned_retry_batch_size)

    @property
    def sweeper(self) -> Sweeper:
        return Sweeper(self.service)

    async def send(self, topic: Topic, event: Any) -> None:
        await self.broker.publish(event.model_dump(mode="json"), topic.name)


def manager(manager_id: str, grade: int = 1, status: str = "active", **kw: Any) -> ManagerChanged:
    """A roster event."""
    return ManagerChanged(event_id=kw.pop("event_id", str(uuid.uuid4())), occurred_at=kw.pop("at", NOW),
                          manager_id=manager_id, name=manager_id, grade=grade, status=status,
                          capacity=kw.pop("capacity", 100), regions=kw.pop("regions", ["RU"]),
                          languages=kw.pop("languages", ["ru"]), **kw)


def registered(client_id: str, at: datetime, **payload: Any) -> ClientRegistered:
    """A client registration as intake publishes it."""
    fields: dict[str, Any] = {"kind": "person", "country": "RU", "language": "ru", **payload}
    return ClientRegistered.create(source="intake", lead_source=LeadSource(channel="form"),
                                   correlation_id=f"lead-{client_id}", occurred_at=at, client_id=client_id, lead_event_id=f"lead-{client_id}", **fields)


@pytest.fixture
async def harness(stack_endpoints: Any) -> AsyncIterator[Harness]:
    """The rotation handlers on TestKafkaBroker, on a fresh database."""
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(database=f"test_rotation_c_{suffix}", group_id=f"test-rotation-c-{suffix}",
                        kafka=KafkaSettings(bootstrap_servers=stack_endpoints.kafka_bootstrap),
                        mongo=MongoSettings(url=stack_endpoints.mongo_url))
    runtime = build_runtime(settings)
    recorder = Recorder(runtime.publisher)
    runtime.publisher = recorder  # type: ignore[assignment]
    runtime.include([build_router(runtime, settings)])
    await runtime.connect()
    try:
        async with TestKafkaBroker(runtime.broker) as broker:
            yield Harness(runtime, settings, broker, recorder)
    finally:
        await runtime.db.client.drop_database(settings.database)
        await runtime.close()


def days_ago(n: float) -> datetime:
    """A moment n days before the tests' clock."""
    return NOW - timedelta(days=n)


def records(topic: Topic, events: list[Any], *, first_offset: int = 0) -> list[ConsumerRecord[bytes, bytes]]:
    """Kafka records carrying events as an outside producer would publish them (one partition, in order)."""
    out = []
    for n, event in enumerate(events):
        body = event if isinstance(event, bytes) else event.model_dump_json().encode()
        headers = [] if isinstance(event, bytes) else [("event_id", event.event_id.encode())]
        out.append(ConsumerRecord(topic.name, 0, first_offset + n, 0, 0, None, body, None, 0, len(body), headers))
    return out


def deliveries(topic: Topic, events: list[Any], *, redelivered: bool = False) -> list[Delivery]:
    """The deliveries the reliability kit hands a batch handler for these events."""
    return [replace(Delivery.of(r), redelivered=redelivered) for r in records(topic, events)]
