"""Helpers for running intake apps against the real broker on topics of their own (a unique prefix per test)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from clientbase import topics
from clientbase.settings import KafkaSettings, MongoSettings, ReliabilitySettings

from intake.settings import Settings

INPUTS = (topics.LEADS_FORM_SUBMITTED, topics.LEADS_CALL_RECEIVED, topics.SALES_RECORDED,
          topics.CLIENTS_ERASURE_REQUESTED, topics.CLIENTS_ERASED)
OUTPUTS = (topics.CLIENTS_REGISTERED, topics.CLIENTS_UPDATED, topics.CLIENTS_MERGED, topics.LEADS_REJECTED,
           topics.SALES_ATTRIBUTED)


async def create_intake_topics(bootstrap: str, prefix: str) -> None:
    """Create intake's input, output and dead-letter topics under a prefix, with the registry's partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        new = [NewTopic(prefix + t.name, t.partitions, 1) for t in (*INPUTS, *OUTPUTS)]
        new += [NewTopic(prefix + t.dlq, 1, 1) for t in INPUTS]
        await admin.create_topics(new)
    finally:
        await admin.close()


def intake_settings(endpoints: Any, prefix: str, **overrides: Any) -> Settings:
    """Settings of an intake replica on a unique database, group and topic prefix."""
    suffix = prefix.strip(".")
    return Settings(
        database=f"test_intake_{suffix}", group_id=f"test-intake-{suffix}", topic_prefix=prefix,
        kafka=KafkaSettings(bootstrap_servers=endpoints.kafka_bootstrap),
        mongo=MongoSettings(url=endpoints.mongo_url),
        reliability=ReliabilitySettings(max_attempts=5, backoff_initial_s=0.05, backoff_max_s=0.5),
        **overrides,
    )


def new_prefix() -> str:
    """A topic prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}."


async def produce(bootstrap: str, topic: str, bodies: list[bytes], *, headers: list[tuple[str, bytes]] | None = None
                  ) -> None:
    """Produce raw bodies with random keys, so they spread over the partitions."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await asyncio.gather(*[producer.send_and_wait(topic, body, key=uuid.uuid4().bytes, headers=headers)
                               for body in bodies])
    finally:
        await producer.stop()


async def consume_all(bootstrap: str, topic: str) -> list[bytes]:
    """Every record of a topic up to its current end offsets."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    values: list[bytes] = []
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=500)
            values += [record.value for records in batch.values() for record in records]
    finally:
        await consumer.stop()
    return values
