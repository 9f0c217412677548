"""`clientbase-intake replay` as a command: quarantined input is released after a rule fix, once."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clientbase import topics

from intake.cli import main

from intake_kafka import consume_all, create_intake_topics, new_prefix
from intake_support import make_service

pytestmark = pytest.mark.integration


def test_replay_command_releases_quarantined_leads(stack_endpoints: Any, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    prefix = new_prefix()
    database = f"test_intake_cli_{uuid.uuid4().hex[:8]}"
    raw = json.dumps({"event_id": str(uuid.uuid4()), "occurred_at": "2026-11-20T10:00:00+03:00",
                      "form_id": "contact", "fields": {"name": "Без Региона", "phone": "8 (916) 555-44-34"}}).encode()

    async def quarantine_with_strict_rules() -> None:
        await create_intake_topics(stack_endpoints.kafka_bootstrap, prefix)
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
        try:
            outcome = await make_service(client[database], default_region=None).ingest(
                topics.LEADS_FORM_SUBMITTED, raw)
            assert outcome.kind == "rejected"
        finally:
            await client.close()

    async def registrations() -> int:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url)
        try:
            return await client[database]["registrations"].count_documents({})
        finally:
            await client.close()

    asyncio.run(quarantine_with_strict_rules())
    for name, value in {"INTAKE_DATABASE": database, "INTAKE_DEFAULT_REGION": "RU", "INTAKE_TOPIC_PREFIX": prefix,
                        "KAFKA_BOOTSTRAP_SERVERS": stack_endpoints.kafka_bootstrap,
                        "MONGO_URL": stack_endpoints.mongo_url}.items():
        monkeypatch.setenv(name, value)
    try:
        assert main(["replay", "--topic", topics.LEADS_FORM_SUBMITTED.name]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"released": 1, "still_rejected": 0}
        assert main(["replay"]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"released": 0, "still_rejected": 0}
        assert asyncio.run(registrations()) == 1
        registered = asyncio.run(consume_all(stack_endpoints.kafka_bootstrap, prefix + topics.CLIENTS_REGISTERED.name))
        assert [json.loads(r)["lead_event_id"] for r in registered] == [json.loads(raw)["event_id"]]
    finally:
        async def drop() -> None:
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url)
            await client.drop_database(database)
            await client.close()
        asyncio.run(drop())
