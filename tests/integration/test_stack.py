"""The local stack against its real servers: Kafka round trips on registry topics, FerretDB reads and writes."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import MongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from clientbase.stack import LocalStack, StackEndpoints
from clientbase.topics import LEADS_FORM_SUBMITTED, all_topic_names_and_partitions

pytestmark = pytest.mark.integration

CONSUME_TIMEOUT_S = 30.0


async def test_every_registry_topic_exists_with_its_partition_count(stack_endpoints: StackEndpoints) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack_endpoints.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([name for name, _ in all_topic_names_and_partitions()])
    finally:
        await admin.close()

    actual = {topic["topic"]: len(topic["partitions"]) for topic in described if topic["error_code"] == 0}
    assert actual == dict(all_topic_names_and_partitions())


async def test_message_produced_to_registry_topic_is_consumed_by_a_new_group(
    stack_endpoints: StackEndpoints,
) -> None:
    topic = LEADS_FORM_SUBMITTED
    key = uuid.uuid4().hex.encode()
    value = b'{"form_id": "contact", "test": "round trip"}'
    producer = AIOKafkaProducer(bootstrap_servers=stack_endpoints.kafka_bootstrap)
    await producer.start()
    try:
        assert len(await producer.partitions_for(topic.name)) == topic.partitions
        sent = await producer.send_and_wait(topic.name, value, key=key)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic.name, bootstrap_servers=stack_endpoints.kafka_bootstrap, group_id=f"test-stack-{key.decode()}",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received = await asyncio.wait_for(_first_message_with_key(consumer, key), CONSUME_TIMEOUT_S)
    finally:
        await consumer.stop()

    assert (received.value, received.partition, received.offset) == (value, sent.partition, sent.offset)


async def _first_message_with_key(consumer: AIOKafkaConsumer, key: bytes):  # noqa: ANN202 - aiokafka record
    async for message in consumer:
        if message.key == key:
            return message
    raise AssertionError("consumer stopped before the message arrived")


@pytest.fixture
def database(scratch_db: AsyncDatabase[dict[str, Any]]) -> AsyncDatabase[dict[str, Any]]:
    """A scratch database on the stack's server, dropped afterwards."""
    return scratch_db


async def test_document_is_inserted_found_and_updated(database: AsyncDatabase) -> None:
    clients = database["clients"]
    await clients.insert_one({"_id": "c-1", "name": "Test Client", "activities": 0})

    await clients.update_one({"_id": "c-1"}, {"$inc": {"activities": 2}, "$set": {"region": "north"}})

    assert await clients.find_one({"_id": "c-1"}) == {
        "_id": "c-1", "name": "Test Client", "activities": 2, "region": "north",
    }
    assert await clients.find_one({"_id": "missing"}) is None


async def test_unique_index_rejects_a_duplicate(database: AsyncDatabase) -> None:
    phones = database["phones"]
    await phones.create_index("e164", unique=True)
    await phones.insert_one({"e164": "+15550000001", "client_id": "c-1"})

    with pytest.raises(DuplicateKeyError):
        await phones.insert_one({"e164": "+15550000001", "client_id": "c-2"})

    assert await phones.count_documents({}) == 1


def test_second_up_reuses_running_servers_and_down_stops_them(tmp_path: Path) -> None:
    stack = LocalStack.ephemeral(tmp_path)
    try:
        first = stack.up()
        pids = {name: entry["pid"] for name, entry in stack.status().items()}

        assert stack.up() == first
        status = stack.status()
        assert {name: entry["pid"] for name, entry in status.items()} == pids
        assert all(entry["running"] and entry["answering"] for entry in status.values())
    finally:
        stack.down()

    assert set(status) == {"ferretdb", "kafka", "mailpit"} | ({"postgres"} if stack.config.uses_postgres else set())
    assert not any(entry["running"] for entry in stack.status().values())
    assert not list((tmp_path / "run").glob("*.pid"))


def test_sqlite_backend_runs_ferretdb_without_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTBASE_MONGO_BACKEND", "sqlite")
    stack = LocalStack.ephemeral(tmp_path)
    try:
        endpoints = stack.up()
        client: MongoClient = MongoClient(endpoints.mongo_url, serverSelectionTimeoutMS=10_000)
        try:
            client.sqlite_check.items.insert_one({"_id": "one", "n": 1})
            assert client.sqlite_check.items.find_one({"_id": "one"}) == {"_id": "one", "n": 1}
        finally:
            client.close()

        assert endpoints.postgres_url is None
        assert set(stack.status()) == {"ferretdb", "kafka", "mailpit"}
        assert (tmp_path / "data" / "ferretdb").is_dir()
        assert not (tmp_path / "data" / "postgres").exists()
    finally:
        stack.down()
