"""The reliability kit inside FastStream's in-memory TestKafkaBroker (MongoDB is the real server)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import structlog
from faststream import TestApp
from faststream.kafka import KafkaMessage, KafkaRouter, TestKafkaBroker
from faststream.middlewares import AckPolicy
from pydantic import BaseModel

from clientbase.runtime import ServiceRuntime
from clientbase.settings import KafkaSettings, MongoSettings, ReliabilitySettings, ServiceSettings


class Ping(BaseModel):
    """A test event."""

    event_id: str
    n: int


def make_runtime(stack_endpoints: Any) -> ServiceRuntime:
    """A throwaway service on its own database."""
    suffix = uuid.uuid4().hex[:8]
    return ServiceRuntime(f"component-{suffix}", ServiceSettings(
        database=f"component_{suffix}", group_id=f"component-{suffix}",
        kafka=KafkaSettings(bootstrap_servers="unused:9092"), mongo=MongoSettings(url=stack_endpoints.mongo_url),
        reliability=ReliabilitySettings(max_attempts=2, backoff_initial_s=0.0),
    ))


async def test_duplicates_are_skipped_and_logs_carry_the_envelope_ids(stack_endpoints: Any) -> None:
    runtime = make_runtime(stack_endpoints)
    handled: list[dict[str, Any]] = []
    router = KafkaRouter()

    @router.subscriber("component.ping", group_id=runtime.settings.group_id, ack_policy=AckPolicy.NACK_ON_ERROR)
    async def handle(event: Ping) -> None:
        handled.append({"n": event.n, **structlog.contextvars.get_contextvars()})

    runtime.include([router])
    app = runtime.build_app("component test")
    async with TestKafkaBroker(runtime.broker) as broker, TestApp(app):
        body = json.dumps({"event_id": "e-1", "n": 1}).encode()
        await broker.publish(body, "component.ping", headers={"event_id": "e-1", "correlation_id": "lead-9"})
        await broker.publish(body, "component.ping", headers={"event_id": "e-1", "correlation_id": "lead-9"})
        await broker.publish(json.dumps({"event_id": "e-2", "n": 2}).encode(), "component.ping")
    assert [h["n"] for h in handled] == [1, 2]
    assert handled[0]["event_id"] == "e-1" and handled[0]["correlation_id"] == "lead-9"
    assert handled[1]["event_id"] == "e-2" and handled[1]["correlation_id"] == "e-2"


async def test_schema_violation_is_dead_lettered_with_its_origin(stack_endpoints: Any) -> None:
    runtime = make_runtime(stack_endpoints)
    dead: list[KafkaMessage] = []
    router = KafkaRouter()

    @router.subscriber("component.strict", group_id=runtime.settings.group_id, ack_policy=AckPolicy.NACK_ON_ERROR)
    async def handle(event: Ping) -> None:
        pytest.fail("an invalid event must not reach the handler")

    @router.subscriber("component.strict.dlq", group_id="dlq-reader", ack_policy=AckPolicy.ACK)
    async def collect(msg: KafkaMessage) -> None:
        dead.append(msg)

    runtime.include([router])
    app = runtime.build_app("component test")
    async with TestKafkaBroker(runtime.broker) as broker, TestApp(app):
        await broker.publish(b'{"event_id": "bad", "n": "many"}', "component.strict", key=b"client-1")
    assert len(dead) == 1
    message = dead[0]
    assert message.body == b'{"event_id": "bad", "n": "many"}'
    assert message.raw_message.key == b"client-1"
    assert message.headers["x-dlq-origin-topic"] == "component.strict"
    assert message.headers["x-dlq-attempts"] == "1"
    assert message.headers["x-dlq-error-type"] == "ValidationError"
    assert "n: int_parsing" in message.headers["x-dlq-error"]
