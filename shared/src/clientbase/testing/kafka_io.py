"""Small helpers tests use to talk to the real Kafka broker directly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


async def create_topics(bootstrap: str, *names: str, partitions: int = 1) -> None:
    """Create test topics, leaving existing ones as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for name in names:
            try:
                await admin.create_topics([NewTopic(name, partitions, 1)])
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, bodies: Iterable[bytes], *, key: bytes | None = b"k",
                  partition: int | None = 0) -> None:
    """Produce raw bodies in order and wait for each acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for body in bodies:
            await producer.send_and_wait(topic, body, key=key, partition=partition)
    finally:
        await producer.stop()


async def read_records(bootstrap: str, topic: str, count: int, timeout_s: float = 30.0) -> list[ConsumerRecord]:
    """Read `count` records of a topic from the beginning, without a consumer group."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(records) < count:
                records.append(await consumer.getone())
    finally:
        await consumer.stop()
    return records


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout_s: float = 60.0, interval_s: float = 0.2) -> None:
    """Poll an async predicate until it holds, or fail the test."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(interval_s)
