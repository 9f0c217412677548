"""The consumer reliability kit against the real Kafka broker and MongoDB-compatible server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from faststream import TestApp
from faststream.kafka import KafkaMessage, KafkaRouter
from pydantic import BaseModel

from clientbase.kafka.reliability import Delivery
from clientbase.kafka.stores import handled_events
from clientbase.runtime import ServiceRuntime
from clientbase.settings import KafkaSettings, MongoSettings, ReliabilitySettings, ServiceSettings
from clientbase.testing.kafka_io import create_topics, produce, read_records, wait_for

pytestmark = pytest.mark.integration


class Ping(BaseModel):
    """A test event."""

    event_id: str
    n: int


def make_runtime(endpoints: Any, topic: str) -> ServiceRuntime:
    """A throwaway service on its own database and consumer group."""
    suffix = uuid.uuid4().hex[:8]
    settings = ServiceSettings(
        database=f"test_reliability_{suffix}",
        group_id=f"test-reliability-{suffix}",
        kafka=KafkaSettings(bootstrap_servers=endpoints.kafka_bootstrap),
        mongo=MongoSettings(url=endpoints.mongo_url),
        reliability=ReliabilitySettings(max_attempts=3, backoff_initial_s=0.05, backoff_max_s=0.2),
    )
    return ServiceRuntime(f"test-{suffix}", settings)


async def test_failed_first_delivery_is_redelivered_and_applied_once(stack_endpoints: Any) -> None:
    topic = f"test.retry.{uuid.uuid4().hex[:8]}"
    await create_topics(stack_endpoints.kafka_bootstrap, topic, topic + ".dlq")
    runtime = make_runtime(stack_endpoints, topic)
    deliveries: Counter[str] = Counter()
    router = KafkaRouter()

    async def handle(batch: Sequence[Delivery]) -> None:
        for delivery in batch:
            event = Ping.model_validate_json(delivery.body)
            deliveries[event.event_id] += 1
            effects = runtime.db["effects"]
            await effects.update_one({"_id": "total"}, {"$setOnInsert": {"count": 0, "applied": []}}, upsert=True)
            await effects.update_one({"_id": "total", "applied": {"$ne": event.event_id}},
                                     {"$inc": {"count": event.n}, "$push": {"applied": event.event_id}})
            if deliveries[event.event_id] == 1:
                raise ConnectionError("transient failure after the effect")

    @router.subscriber(topic, **runtime.batch_options())
    async def on_ping(msg: KafkaMessage) -> None:
        await runtime.handle_batch(msg, handle)

    runtime.include([router])
    app = runtime.build_app("test")
    event_id = str(uuid.uuid4())
    body = json.dumps({"event_id": event_id, "n": 7}).encode()
    async with TestApp(app):
        await produce(stack_endpoints.kafka_bootstrap, topic, [body, body])  # a duplicate delivery too

        async def handled() -> bool:
            done = await handled_events(runtime.db)
            return done == 1 and deliveries[event_id] >= 2

        await wait_for(handled)
        await asyncio.sleep(1.0)
        effects = await runtime.db["effects"].find({}).to_list()
    assert deliveries[event_id] == 2, "failed once, replayed once, the duplicate skipped"
    assert effects == [{"_id": "total", "count": 7, "applied": [event_id]}]


async def test_poison_message_goes_to_dlq_and_partition_moves_on(stack_endpoints: Any) -> None:
    topic = f"test.poison.{uuid.uuid4().hex[:8]}"
    await create_topics(stack_endpoints.kafka_bootstrap, topic, topic + ".dlq")
    runtime = make_runtime(stack_endpoints, topic)
    seen: list[int] = []
    router = KafkaRouter()

    async def handle(batch: Sequence[Delivery]) -> None:
        for delivery in batch:
            event = Ping.model_validate_json(delivery.body)
            seen.append(event.n)
            if event.n == 13:
                raise RuntimeError("this message always fails")

    @router.subscriber(topic, **runtime.batch_options())
    async def on_ping(msg: KafkaMessage) -> None:
        await runtime.handle_batch(msg, handle)

    runtime.include([router])
    app = runtime.build_app("test")
    poison = json.dumps({"event_id": str(uuid.uuid4()), "n": 13}).encode()
    good = json.dumps({"event_id": str(uuid.uuid4()), "n": 14}).encode()
    async with TestApp(app):
        await produce(stack_endpoints.kafka_bootstrap, topic, [poison, good])

        async def good_handled() -> bool:
            return 14 in seen

        await wait_for(good_handled)

    assert seen.count(13) == 4, "once in the batch, then three attempts alone, then dead-lettered"
    assert seen[-1] == 14 and seen.count(14) == 1, "the good record after it is handled once"
    [record] = await read_records(stack_endpoints.kafka_bootstrap, topic + ".dlq", 1)
    headers = {k: v.decode() for k, v in record.headers}
    assert record.value == poison
    assert headers["x-dlq-attempts"] == "3"
    assert headers["x-dlq-origin-topic"] == topic
    assert headers["x-dlq-origin-partition"] == "0"
    assert headers["x-dlq-origin-offset"] == "0"
    assert "this message always fails" in headers["x-dlq-error"]
    assert headers["x-dlq-error-type"] == "RuntimeError"


async def test_invalid_payload_is_dead_lettered_without_retries(stack_endpoints: Any) -> None:
    topic = f"test.invalid.{uuid.uuid4().hex[:8]}"
    await create_topics(stack_endpoints.kafka_bootstrap, topic, topic + ".dlq")
    runtime = make_runtime(stack_endpoints, topic)
    seen: list[int] = []
    router = KafkaRouter()

    async def handle(batch: Sequence[Delivery]) -> None:
        seen.extend(Ping.model_validate_json(d.body).n for d in batch)

    @router.subscriber(topic, **runtime.batch_options())
    async def on_ping(msg: KafkaMessage) -> None:
        await runtime.handle_batch(msg, handle)

    runtime.include([router])
    app = runtime.build_app("test")
    async with TestApp(app):
        await produce(stack_endpoints.kafka_bootstrap, topic, [b'{"event_id": "x", "n": "not a number"}',
                                                               json.dumps({"event_id": "y", "n": 1}).encode()])

        async def next_handled() -> bool:
            return seen == [1]

        await wait_for(next_handled)
    [record] = await read_records(stack_endpoints.kafka_bootstrap, topic + ".dlq", 1)
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["x-dlq-attempts"] == "1"
    assert "n" in headers["x-dlq-error"] and "not a number" not in headers["x-dlq-error"]
