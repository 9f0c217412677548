"""End to end: a form lead through intake, rotation and notify as processes, out as real email (Mailpit)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.system.environment import environment
from clientbase.system.services import SERVICES
from clientbase.testing.kafka_io import wait_for

pytestmark = pytest.mark.e2e

TOKEN_SECRET = "e2e-token-key"


def mail_settings(stack_endpoints: Any) -> tuple[str, str, str]:
    """SMTP host, port and Mailpit URL from SMTP_HOST/SMTP_PORT/MAILPIT_URL, else from the stack."""
    host = os.environ.get("SMTP_HOST") or getattr(stack_endpoints, "smtp_host", None)
    port = os.environ.get("SMTP_PORT") or getattr(stack_endpoints, "smtp_port", None)
    url = os.environ.get("MAILPIT_URL") or getattr(stack_endpoints, "mailpit_url", None)
    if not (host and port and url):
        raise RuntimeError("no SMTP server: set SMTP_HOST, SMTP_PORT and MAILPIT_URL, or run a stack with Mailpit")
    return str(host), str(port), str(url).rstrip("/")


@pytest.fixture(scope="module", autouse=True)
def notify_env(stack_endpoints: Any) -> Iterator[str]:
    """Notify's SMTP server, token key and an always-open send window, set before the processes start."""
    host, port, url = mail_settings(stack_endpoints)
    values = {"NOTIFY_SMTP_HOST": host, "NOTIFY_SMTP_PORT": port, "NOTIFY_TOKEN_SECRET": TOKEN_SECRET,
              "NOTIFY_QUIET_START": "00:00", "NOTIFY_QUIET_END": "00:00", "NOTIFY_RECIPIENT_RETRY_S": "1",
              "NOTIFY_SCHEDULER_INTERVAL_S": "1",
              "METRICS_API_ALLOW_NO_TOKEN": "true"}  # the metrics process refuses to start without a token
    with environment(values):
        yield url


async def produce(bootstrap: str, topic: str, payload: dict[str, Any], key: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(payload).encode(), key=key.encode())
    finally:
        await producer.stop()


async def search(mailpit: str, query: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{mailpit}/api/v1/search", params={"query": query})).json().get("messages") or []


async def message(mailpit: str, message_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{mailpit}/api/v1/message/{message_id}")).json()


async def final_outcome(system: Any, request_id: str) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(system.topic(topics.NOTIFICATIONS_OUTCOMES.name), bootstrap_servers=system.kafka_bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async def arrived() -> bool:
            batch = await consumer.getmany(timeout_ms=200)
            found.extend(o for rs in batch.values() for r in rs
                         if (o := json.loads(r.value))["request_event_id"] == request_id and o["status"] != "deferred")
            return bool(found)

        await wait_for(arrived, timeout_s=90)
    finally:
        await consumer.stop()
    return found[0]


def marketing_email(client_id: str) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(), "client_id": client_id,
            "channel": "email", "category": "marketing", "template": "promo_generic",
            "params": {"offer": "Reducere 10%"}}


async def test_a_form_lead_gets_double_opt_in_and_its_manager_is_told(running_system, notify_env: str) -> None:
    tag = uuid.uuid4().hex[:8]
    email, name = f"e2e.{tag}@mail.example", f"Ion Testescu{tag}"
    lead = {"event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(), "form_id": "landing-e2e",
            "fields": {"name": name, "phone": "+4072" + str(uuid.uuid4().int)[:7], "email": email},
            "consents": [{"channel": "email", "granted": True, "text": "Sunt de acord", "text_version": "1"}],
            "client_ip": "198.51.100.9", "locale": "ro-RO"}
    manager = {"event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(),
               "manager_id": f"m-e2e-{tag}", "name": "Maria E2E", "email": f"manager.{tag}@company.example",
               "grade": 1, "status": "active", "capacity": 50, "regions": ["RO"], "languages": ["ro"]}
    await produce(running_system.kafka_bootstrap, running_system.prefix + topics.MANAGERS_CHANGED.name, manager, manager["manager_id"])
    await produce(running_system.kafka_bootstrap, running_system.prefix + topics.LEADS_FORM_SUBMITTED.name, lead, lead["event_id"])

    async def confirmation_sent() -> bool:
        return bool(await search(notify_env, f"to:{email}"))

    await wait_for(confirmation_sent, timeout_s=120)
    [summary] = await search(notify_env, f"to:{email}")
    confirmation = await message(notify_env, summary["ID"])
    assert confirmation["Subject"] == "Confirmați abonarea"
    link = next(w for w in confirmation["Text"].split() if w.startswith("http"))

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(running_system.mongo_url, tz_aware=True)
    try:
        client = await mongo[running_system.databases["notify"]]["clients"].find_one({"emails": email})
        assert client is not None
        first = marketing_email(client["_id"])
        await produce(running_system.kafka_bootstrap, running_system.prefix + topics.NOTIFICATIONS_REQUESTED.name, first, client["_id"])
        outcome = await final_outcome(running_system, first["event_id"])
        assert (outcome["status"], outcome["reason"]) == ("suppressed", "unconfirmed")

        notify_port = next(spec.port for spec in SERVICES if spec.name == "notify")
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"http://127.0.0.1:{notify_port}/confirm",
                                     params={"t": parse_qs(urlparse(link).query)["t"][0]})
        assert answer.status_code == 200
        second = marketing_email(client["_id"])
        await produce(running_system.kafka_bootstrap, running_system.prefix + topics.NOTIFICATIONS_REQUESTED.name, second, client["_id"])
        outcome = await final_outcome(running_system, second["event_id"])
        assert (outcome["status"], outcome["provider"]) == ("sent", "smtp")
    finally:
        await mongo.close()

    async def manager_told() -> bool:
        return bool(await search(notify_env, f'subject:"{name}"'))

    await wait_for(manager_told, timeout_s=120)
