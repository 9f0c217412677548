"""Intake's subscribers on FastStream's in-memory broker (with the real MongoDB-compatible server behind them)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from faststream import TestApp
from faststream.kafka import TestKafkaBroker
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.crypto.vault import DATA_KEYS, KeyVault
from clientbase.events.outbound import ClientRegistered
from clientbase.events.personal import open_event
from clientbase.settings import KafkaSettings, KeyVaultSettings, MongoSettings

from intake.app import create_app
from intake.settings import Settings

SAMPLE_FORM = {"event_id": "", "occurred_at": "2026-11-20T10:00:00+03:00", "form_id": "contact",
               "fields": {"name": "Комп Онент", "phone": "8 916 321-00-00"}, "locale": "ru-RU"}


def recorder(received: list[dict[str, Any]]) -> Any:
    """A subscriber that keeps every body it gets."""
    async def record(body: dict[str, Any]) -> None:
        received.append(body)
    return record


@pytest.fixture
async def running(stack_endpoints: Any) -> Any:
    run = uuid.uuid4().hex[:8]
    settings = Settings(database=f"test_intake_comp_{run}", group_id="test-intake-comp",
                        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:1"),  # in-memory broker: never dialled
                        mongo=MongoSettings(url=stack_endpoints.mongo_url),
                        keyvault=KeyVaultSettings(database=f"test_intake_comp_keys_{run}"))
    app = create_app(settings)
    seen: dict[str, list[dict[str, Any]]] = {t.name: [] for t in (topics.CLIENTS_REGISTERED, topics.LEADS_REJECTED)}
    for name, received in seen.items():
        app.broker.subscriber(name, group_id="spy")(recorder(received))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url)
    vault = KeyVault(settings.keyvault.master_key.get_secret_value(),
                     lambda: client[settings.keyvault.database][DATA_KEYS])
    async with TestKafkaBroker(app.broker) as broker, TestApp(app):
        yield broker, seen, vault
    await client.drop_database(settings.database)
    await client.drop_database(settings.keyvault.database)
    await client.close()


async def test_form_on_the_topic_registers_a_client(running: Any) -> None:
    broker, seen, vault = running
    event_id = str(uuid.uuid4())
    await broker.publish(json.dumps({**SAMPLE_FORM, "event_id": event_id}).encode(), topics.LEADS_FORM_SUBMITTED.name)
    [registered] = seen[topics.CLIENTS_REGISTERED.name]
    assert registered["schema_version"] == 2 and registered["lead_event_id"] == event_id
    assert "79163210000" not in json.dumps(registered) and "Комп" not in json.dumps(registered, ensure_ascii=False)
    opened = open_event(ClientRegistered, registered, await vault.keys_for([registered["client_id"]]))
    assert opened.phones[0].e164 == "+79163210000" and opened.name == "Комп Онент"


async def test_invalid_json_becomes_a_rejection_not_a_dead_letter(running: Any) -> None:
    broker, seen, _ = running
    await broker.publish(b"{oops", topics.LEADS_CALL_RECEIVED.name, headers={"content-type": "application/json"})
    [rejected] = seen[topics.LEADS_REJECTED.name]
    assert (rejected["topic"], rejected["reasons"][0]["code"]) == (topics.LEADS_CALL_RECEIVED.name, "invalid_json")
    assert rejected["quarantine_id"].startswith("q-")
