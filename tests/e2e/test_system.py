"""End to end: the four services run as separate processes on the real Kafka broker and FerretDB."""

from __future__ import annotations

import asyncio
import importlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from clientbase import topics
from clientbase.system.feed import publish_feed
from clientbase.system.secrets import local_secrets
from clientbase.system.services import SERVICES
from clientbase.testing.kafka_io import wait_for

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


async def unconsumed(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str,
                     topic_names: list[str]) -> list[str]:
    """The topics on which the group has not yet committed up to the end of every partition."""
    committed = {tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()}
    behind = []
    for topic_name in topic_names:
        partitions = [TopicPartition(topic_name, p) for p in consumer.partitions_for_topic(topic_name) or ()]
        ends = await consumer.end_offsets(partitions)
        if not partitions or any(committed.get(tp, -1) < end for tp, end in ends.items() if end > 0):
            behind.append(topic_name)
    return behind


async def test_demo_feed_is_consumed_by_the_service_processes(running_system) -> None:
    counts = await publish_feed(running_system.kafka_bootstrap, DEMO, running_system.prefix)
    assert counts[topics.LEADS_FORM_SUBMITTED.name] >= 8
    consumed_by = {spec.name: sorted(running_system.topic(t) for t in subscribed_topics(spec.name) & set(counts))
                   for spec in SERVICES}
    assert consumed_by["intake"], "intake must consume the fed leads"
    admin = AIOKafkaAdminClient(bootstrap_servers=running_system.kafka_bootstrap)
    consumer = AIOKafkaConsumer(*map(running_system.topic, counts), bootstrap_servers=running_system.kafka_bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + 90
        while True:
            pending = {}
            for service, topic_names in consumed_by.items():
                behind = await unconsumed(admin, consumer, running_system.groups[service], topic_names)
                if behind:
                    pending[service] = behind
            if not pending or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(1)
    finally:
        await consumer.stop()
        await admin.close()
    assert not pending, f"not fully consumed: {pending}"


def event_id_of(line: bytes) -> str | None:
    """The event id of a demo line, when it is a JSON object that has one."""
    try:
        body = json.loads(line)
    except ValueError:
        return None
    return body.get("event_id") if isinstance(body, dict) else None


def demo_lines() -> list[bytes]:
    """Every lead line of the demo feed, as published."""
    return [line for name in ("forms.jsonl", "calls.jsonl") for line in (DEMO / name).read_bytes().splitlines()
            if line.strip()]


async def test_demo_leads_become_clean_clients_and_bad_ones_are_kept(running_system) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient = AsyncMongoClient(running_system.mongo_url)
    intake_db = client[running_system.databases["intake"]]
    lines = demo_lines()
    lead_ids = {event_id for line in lines if (event_id := event_id_of(line))}
    seen: dict[str, object] = {}

    async def leads_settled() -> bool:
        """The demo's own leads (other tests publish on these public topics too) made 8 clients, 3 were kept."""
        registered = {r["_id"] for r in await intake_db["registrations"].find({}).to_list()
                      if r["lead_event_id"] in lead_ids}
        merged = {m["_id"] for m in await intake_db["merges"].find({}).to_list()}
        kept = {bytes(q["raw"]) for q in await intake_db["quarantine"].find({}).to_list()}
        seen.update(live=sorted(registered - merged), kept=len(kept & set(lines)))
        return len(registered - merged) == 8 and len(kept & set(lines)) == 3

    try:
        await publish_feed(running_system.kafka_bootstrap, DEMO, running_system.prefix)
        try:
            await wait_for(leads_settled, timeout_s=90)
        except AssertionError as error:
            raise AssertionError(f"{error}; last seen: {seen}") from None
        phones = await intake_db["identities"].find({"_id": {"$regex": "^phone:"}}).to_list()
        assert {"phone:+79161234567", "phone:+359888123456", "phone:+40722123456"} <= {p["_id"] for p in phones}
    finally:
        await client.close()


def get_json(port: int, path: str, token: str) -> tuple[int, dict]:
    """GET a service's JSON endpoint with a bearer token; the status and the body."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


async def test_a_demo_lead_is_found_by_its_phone_and_its_owner_answered_with_the_launchers_tokens(
        running_system) -> None:
    await publish_feed(running_system.kafka_bootstrap, DEMO)  # a second publish of the demo is harmless
    tokens = {name: value.partition(":")[0]  # the setting's token, without its scopes
              for name, value in local_secrets(running_system.launcher.config.state_dir).items()}
    ports = {spec.name: spec.port for spec in SERVICES}
    answers: dict[str, dict] = {}

    async def owned() -> bool:
        status, found = get_json(ports["intake"], "/clients?phone=8%20(916)%20123-45-67", tokens["INTAKE_API_TOKEN"])
        if status != 200:
            return False
        answers["found"] = found
        status, owner = get_json(ports["rotation"], f"/clients/{found['client_id']}/owner",
                                 tokens["ROTATION_API_TOKEN"])
        answers["owner"] = owner
        return status == 200 and owner.get("manager_id") is not None

    await wait_for(owned, timeout_s=90)
    assert answers["found"]["client"]["phones"][0]["e164"] == "+79161234567", "the launcher's intake token has pii"
    assert answers["owner"]["reason"] == "initial" and answers["owner"]["client_id"] == answers["found"]["client_id"]
