"""The batch reliability kit inside FastStream's in-memory TestKafkaBroker (MongoDB is the real server)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
import structlog
from aiokafka import ConsumerRecord
from faststream import TestApp
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaMessage, KafkaRouter, TestKafkaBroker
from faststream.middlewares import AckPolicy
from pydantic import BaseModel
from pymongo.errors import AutoReconnect

from clientbase.kafka.dead_letter import DeadLetterer
from clientbase.kafka.reliability import Delivery
from clientbase.kafka.stores import ATTEMPTS_COLLECTION, handled_events
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


async def test_duplicates_are_skipped_and_replayed_records_carry_the_envelope_ids(stack_endpoints: Any) -> None:
    runtime = make_runtime(stack_endpoints)
    handled: list[dict[str, Any]] = []
    router = KafkaRouter()

    async def handle(batch: Sequence[Delivery]) -> None:
        for delivery in batch:
            event = Ping.model_validate_json(delivery.body)
            handled.append({"n": event.n, "redelivered": delivery.redelivered,
                            **structlog.contextvars.get_contextvars()})
        if any(Ping.model_validate_json(d.body).n == 3 for d in batch) and len(batch) > 1:
            raise ConnectionError("a batch with n=3 fails as a whole, then is replayed record by record")

    @router.subscriber("component.ping", **runtime.batch_options())
    async def on_ping(msg: KafkaMessage) -> None:
        await runtime.handle_batch(msg, handle)

    runtime.include([router])
    app = runtime.build_app("component test")
    async with TestKafkaBroker(runtime.broker) as broker, TestApp(app):
        body = json.dumps({"event_id": "e-1", "n": 1}).encode()
        await broker.publish(body, "component.ping", headers={"event_id": "e-1", "correlation_id": "lead-9"})
        await broker.publish(body, "component.ping", headers={"event_id": "e-1", "correlation_id": "lead-9"})
        await broker.publish(json.dumps({"event_id": "e-2", "n": 2}).encode(), "component.ping")
        await broker.publish_batch(json.dumps({"event_id": "e-3", "n": 3}).encode(),
                                   json.dumps({"event_id": "e-4", "n": 4}).encode(),
                                   json.dumps({"event_id": "e-4", "n": 4}).encode(), topic="component.ping")
        processed = await handled_events(runtime.db)
    assert [h["n"] for h in handled] == [1, 2, 3, 4, 3, 4], "duplicates skipped, the failed batch replayed"
    assert "event_id" not in handled[0], "a whole batch binds no single event id"
    replayed = handled[4:]
    assert [(h["event_id"], h["redelivered"]) for h in replayed] == [("e-3", True), ("e-4", True)]
    assert replayed[0]["correlation_id"] == "e-3"
    assert processed == 4


async def test_schema_violation_is_dead_lettered_alone_with_its_origin(stack_endpoints: Any) -> None:
    runtime = make_runtime(stack_endpoints)
    dead: list[KafkaMessage] = []
    good: list[int] = []
    router = KafkaRouter()

    async def handle(batch: Sequence[Delivery]) -> None:
        events = [Ping.model_validate_json(d.body) for d in batch]
        good.extend(e.n for e in events)

    @router.subscriber("component.strict", **runtime.batch_options())
    async def on_strict(msg: KafkaMessage) -> None:
        await runtime.handle_batch(msg, handle)

    @router.subscriber("component.strict.dlq", group_id="dlq-reader", ack_policy=AckPolicy.ACK)
    async def collect(msg: KafkaMessage) -> None:
        dead.append(msg)

    runtime.include([router])
    app = runtime.build_app("component test")
    async with TestKafkaBroker(runtime.broker) as broker, TestApp(app):
        await broker.publish_batch(b'{"event_id": "ok-1", "n": 1}', b'{"event_id": "bad", "n": "many"}',
                                   b'{"event_id": "ok-2", "n": 2}', topic="component.strict")
    assert good == [1, 2], "the good records of the batch are handled once each"
    assert len(dead) == 1
    message = dead[0]
    assert message.body == b'{"event_id": "bad", "n": "many"}'
    assert message.headers["x-dlq-origin-topic"] == "component.strict"
    assert message.headers["x-dlq-attempts"] == "1"
    assert message.headers["x-dlq-error-type"] == "ValidationError"
    assert "n: int_parsing" in message.headers["x-dlq-error"]


class Letters:
    """Collects what the kit dead-letters, in place of the broker's publish."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def publish(self, message: bytes, topic: str = "", **kwargs: Any) -> None:
        """Keep the topic a letter went to."""
        self.sent.append(topic)


async def test_a_database_outage_redelivers_without_counting_attempts_or_dead_lettering(stack_endpoints: Any) -> None:
    runtime = make_runtime(stack_endpoints)
    await runtime.connect()
    letters = Letters()
    runtime.reliability.attach(runtime.db, DeadLetterer(letters), runtime.reads)
    records = [ConsumerRecord("component.outage", 0, n, 0, 0, b"k", json.dumps({"event_id": f"o-{n}", "n": n}).encode(),
                              None, 1, 1, []) for n in range(3)]
    handled: list[int] = []
    outages = 0

    async def handle(batch: Sequence[Delivery]) -> None:
        nonlocal outages
        if outages < 4:  # more outages in a row than max_attempts allows failures
            outages += 1
            raise AutoReconnect("connection refused")
        handled.extend(Ping.model_validate_json(d.body).n for d in batch)

    try:
        for _ in range(4):
            with pytest.raises(NackMessage):
                await runtime.reliability.run(records, handle)
        await runtime.reliability.run(records, handle)
        attempts = await runtime.db[ATTEMPTS_COLLECTION].count_documents({})
        processed = await handled_events(runtime.db)
    finally:
        await runtime.close()
    assert handled == [0, 1, 2], "the batch is handled whole once the database is back"
    assert letters.sent == [] and attempts == 0, "an outage is no attempt and sends nothing to the DLQ"
    assert processed == 3


async def test_one_poison_record_in_a_large_batch_is_found_by_halves(stack_endpoints: Any) -> None:
    runtime = make_runtime(stack_endpoints)
    await runtime.connect()
    letters = Letters()
    runtime.reliability.attach(runtime.db, DeadLetterer(letters), runtime.reads)
    bodies = [json.dumps({"event_id": f"p-{n}", "n": n}).encode() for n in range(256)]
    bodies[177] = b'{"event_id": "p-177", "n": "poison"}'
    records = [ConsumerRecord("component.halves", 0, n, 0, 0, b"k", body, None, 1, 1, [])
               for n, body in enumerate(bodies)]
    calls: list[int] = []
    applied: list[int] = []

    async def handle(batch: Sequence[Delivery]) -> None:
        calls.append(len(batch))
        events = [Ping.model_validate_json(d.body) for d in batch]  # the poison record fails its whole part
        applied.extend(e.n for e in events)

    try:
        await runtime.reliability.run(records, handle)
        processed = await handled_events(runtime.db)
    finally:
        await runtime.close()
    assert sorted(applied) == [n for n in range(256) if n != 177], "every good record applied once"
    assert applied == sorted(applied), "the parts run in partition order"
    assert letters.sent == ["component.halves.dlq"]
    assert len(calls) <= 2 * 8 + 1, f"about 2·log2(256) handler calls, not 256: {calls}"
    assert processed == 255
