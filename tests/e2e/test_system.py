"""End to end: the four services run as separate processes on the real Kafka broker and FerretDB."""

from __future__ import annotations

import asyncio
import importlib
import urllib.request
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from clientbase import topics
from clientbase.system.feed import publish_feed
from clientbase.system.services import SERVICES

pytestmark = pytest.mark.e2e

DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo"


def test_every_service_is_its_own_ready_process(running_system) -> None:
    statuses = running_system.launcher.status()
    assert [s.name for s in statuses] == [spec.name for spec in SERVICES]
    assert len({s.pid for s in statuses}) == len(SERVICES)
    for status in statuses:
        assert status.ready_status == 200, status
        assert status.ready_body == {"ready": True, "checks": {"kafka": True, "mongo": True}}


def test_every_service_exposes_prometheus_metrics(running_system) -> None:
    for spec in SERVICES:
        with urllib.request.urlopen(f"http://127.0.0.1:{spec.port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "faststream_received_messages_total" in text


def subscribed_topics(service: str) -> set[str]:
    """Topics the service's app subscribes to."""
    app = importlib.import_module(f"{service}.app").create_app()
    return {getattr(topic, "name", topic) for subscriber in app.broker.subscribers for topic in subscriber.topics}


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """Latest offset of every partition of a topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """Committed offsets of a consumer group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items()}
    finally:
        await admin.close()


async def test_demo_feed_is_consumed_by_the_service_processes(running_system) -> None:
    counts = await publish_feed(running_system.kafka_bootstrap, DEMO)
    assert counts[topics.LEADS_FORM_SUBMITTED.name] >= 8
    consumed_by = {spec.name: sorted(subscribed_topics(spec.name) & set(counts)) for spec in SERVICES}
    assert consumed_by["intake"], "intake must consume the fed leads"
    deadline = asyncio.get_running_loop().time() + 90
    pending: dict[str, list[str]] = {}
    while True:
        pending = {}
        for service, topic_names in consumed_by.items():
            done = await committed(running_system.kafka_bootstrap, running_system.groups[service])
            for topic_name in topic_names:
                ends = await end_offsets(running_system.kafka_bootstrap, topic_name)
                if any(done.get(tp, -1) < end for tp, end in ends.items() if end > 0):
                    pending.setdefault(service, []).append(topic_name)
        if not pending or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(1)
    assert not pending, f"not fully consumed: {pending}"
