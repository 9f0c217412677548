"""End to end over a short scripted history: no personal value in any service's log, sealed snapshots on the topics.

The story (leads by form and call, sales by phone and email reference, notifications, rejected input, a roster)
is played through the four services as processes. Then every service's log is scanned for every name, phone
(as typed, in E.164 and as bare digits) and email fed; the client snapshots on the topics are checked to carry
their personal fields sealed; and after one client's key is destroyed, a metrics rebuild and a fresh reader of the
topics get nothing of that client back, while version 1 snapshots keep working.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.crypto.reader import open_batch
from clientbase.crypto.vault import DATA_KEYS, KeyVault
from clientbase.events.outbound import ClientRegistered, ClientSnapshot
from clientbase.events.personal import ERASED
from clientbase.system.player import Player
from clientbase.system.services import SERVICES
from clientbase.system.story import Edge, Story, build_story
from clientbase.testing.kafka_io import produce, wait_for

from intake.cli import forget_keys, replay
from intake.settings import Settings as IntakeSettings
from metrics.cli import build_parser, run
from metrics.settings import Settings as MetricsSettings

pytestmark = pytest.mark.e2e

PERSONAL_KEYS = {"name", "phone", "email", "caller", "company", "client_ip", "address"}
SHORTEST = 6  # shorter values ("Bot", "12345") are not telling on their own


@pytest.fixture(scope="module")
def system_env(stack_endpoints: Any) -> dict[str, str]:
    """An always-open send window, and a key cache short enough to see a destroyed key within the test."""
    return {"NOTIFY_QUIET_START": "00:00", "NOTIFY_QUIET_END": "00:00", "NOTIFY_SCHEDULER_INTERVAL_S": "1",
            "NOTIFY_RECIPIENT_RETRY_S": "1", "KEYVAULT_CACHE_TTL_S": "1", "METRICS_API_ALLOW_NO_TOKEN": "true"}


class RecordingPlayer(Player):
    """A player that keeps every edge it publishes, so the test knows each value it fed."""

    fed: list[Edge]

    async def _send(self, edges: list[Edge]) -> None:
        self.fed = [*getattr(self, "fed", []), *edges]
        await super()._send(edges)


@pytest.fixture(scope="module")
async def played(running_system: Any) -> tuple[Story, RecordingPlayer]:
    """A short story played to its end against the running system."""
    story = build_story(seed=23, persons=12, months=3, marketing_months=(1,), tag=uuid.uuid4().hex[:6])
    player = RecordingPlayer(story, running_system.kafka_bootstrap, prefix=running_system.prefix,
                             groups=running_system.groups, rotation_env=running_system.rotation_env())
    await player.play()
    return story, player


def strings_under(value: Any, keys: set[str]) -> Iterator[str]:
    """Every string held under one of `keys`, at any depth of a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, str):
                yield item
            else:
                yield from strings_under(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from strings_under(item, keys)


def spellings(value: str) -> set[str]:
    """The ways a fed value could show up: as typed, trimmed, lowered, and a phone's bare digits."""
    trimmed = " ".join(value.split())
    found = {trimmed, trimmed.lower()}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 9 and not re.search(r"[^\d\s()+.-]", value):
        found |= {digits, "+" + digits}
    return {s for s in found if len(s) >= SHORTEST}


def fed_values(story: Story, edges: Iterable[Edge]) -> set[str]:
    """Every personal value fed: names, phones (also in E.164 and bare), emails, company names and IPs."""
    values: set[str] = set()
    for edge in edges:
        try:
            body = json.loads(edge.value)
        except ValueError:
            continue
        for value in strings_under(body, PERSONAL_KEYS):
            values |= spellings(value)
    for person in story.persons.values():
        values |= spellings(person.name) | spellings(person.e164) | spellings(person.national)
        values |= spellings(person.email or "")
    return values


def readable(line: str) -> str:
    """A log line with JSON escapes undone, so Cyrillic names are searched as written."""
    try:
        return json.dumps(json.loads(line), ensure_ascii=False)
    except ValueError:
        return line


def test_no_service_logs_a_fed_name_phone_or_email_in_clear(played: tuple[Story, RecordingPlayer],
                                                            running_system: Any) -> None:
    story, player = played
    values = fed_values(story, player.fed)
    assert len(values) > 50, "the story feeds names, phones and emails"
    leaks: dict[str, set[str]] = {}
    for spec in SERVICES:
        text = "\n".join(readable(line) for line in
                         running_system.launcher.log_file(spec.name).read_text(errors="replace").splitlines())
        assert "intake.lead_registered" in text or spec.name != "intake", "the log of a full run was captured"
        found = {value for value in values if value in text}
        if found:
            leaks[spec.name] = found
    assert not leaks, f"personal values in clear in the logs: {leaks}"


async def snapshots_on_topics(system: Any) -> list[Any]:
    """Every record on the run's clients.registered and clients.updated topics, from the start."""
    names = [system.topic(t.name) for t in (topics.CLIENTS_REGISTERED, topics.CLIENTS_UPDATED)]
    consumer = AIOKafkaConsumer(*names, bootstrap_servers=system.kafka_bootstrap, auto_offset_reset="earliest",
                                group_id=None, enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        while batch := await consumer.getmany(timeout_ms=2000):
            records.extend(r for rs in batch.values() for r in rs)
    finally:
        await consumer.stop()
    return records


def v1_registration(client_id: str, name: str, phone: str) -> dict[str, Any]:
    """A version 1 `clients.registered` payload, as intake published before snapshots were sealed."""
    now = datetime.now(UTC)
    event = ClientRegistered.create(
        source="intake", correlation_id=str(uuid.uuid4()), occurred_at=now, client_id=client_id, kind="person",
        name=name, phones=[{"e164": phone, "type": "mobile"}], country="RU", language="ru",
        lead_source={"channel": "form", "form_id": "legacy"}, lead_event_id=str(uuid.uuid4()))
    return json.loads(event.model_dump_json())


async def scan(client: AsyncMongoClient[dict[str, Any]], database: str, values: set[str]) -> set[str]:
    """The values found anywhere in a database's documents."""
    db = client[database]
    docs = [doc for name in await db.list_collection_names() for doc in await db[name].find({}).to_list()]
    assert docs, f"{database} is empty: nothing was scanned"
    text = "\n".join(json.dumps(doc, default=str, ensure_ascii=False) for doc in docs)
    return {value for value in values if value in text}


async def test_snapshots_travel_sealed_and_a_destroyed_key_keeps_the_client_out_of_replays(
        played: tuple[Story, RecordingPlayer], running_system: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    story, player = played
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(running_system.mongo_url, tz_aware=True)
    vault_db = running_system.keyvault_database
    named = [p for p in story.persons.values() if p.email and player.client_of(p.key)]  # form leads: named
    key, other = named[0], named[1]
    forgotten, kept = player.client_of(key.key), player.client_of(other.key)
    assert forgotten and kept and forgotten != kept
    mine = spellings(key.name) | spellings(key.e164) | spellings(key.email or "")
    try:
        records = await snapshots_on_topics(running_system)
        assert records and all(json.loads(r.value)["schema_version"] == 2 for r in records)
        wire = "\n".join(r.value.decode() for r in records)
        assert {v for v in fed_values(story, player.fed) if v in wire} == set()

        legacy_id, legacy_phone = f"cl-legacy-{uuid.uuid4().hex[:8]}", "+7916" + str(uuid.uuid4().int)[:7]
        await produce(running_system.kafka_bootstrap, running_system.topic(topics.CLIENTS_REGISTERED.name),
                      [json.dumps(v1_registration(legacy_id, "Старый Формат", legacy_phone)).encode()],
                      key=legacy_id.encode(), partition=None)
        rotation_db, notify_db = (mongo[running_system.databases[s]] for s in ("rotation", "notify"))

        async def legacy_and_sealed_read() -> bool:
            r = await rotation_db["clients"].find_one({"_id": legacy_id})
            n = await notify_db["clients"].find_one({"_id": legacy_id})
            sealed = await notify_db["clients"].find_one({"_id": forgotten})
            return bool(r and n and sealed and r.get("name") == "Старый Формат"
                        and [p["e164"] for p in n["phones"]] == [legacy_phone]
                        and key.e164 in [p["e164"] for p in sealed["phones"]])

        await wait_for(legacy_and_sealed_read, timeout_s=60)

        for name, value in {"INTAKE_DATABASE": running_system.databases["intake"], "KEYVAULT_DATABASE": vault_db,
                            "INTAKE_TOPIC_PREFIX": running_system.prefix, "MONGO_URL": running_system.mongo_url,
                            "METRICS_DATABASE": running_system.databases["metrics"], "METRICS_TOPIC_PREFIX":
                            running_system.prefix, "KAFKA_BOOTSTRAP_SERVERS": running_system.kafka_bootstrap}.items():
            monkeypatch.setenv(name, value)
        assert (await forget_keys(IntakeSettings(), [forgotten]))["keys_destroyed"] >= 1

        fresh = KeyVault(os.environ["KEYVAULT_MASTER_KEY"], lambda: mongo[vault_db][DATA_KEYS])
        opened = await open_batch(ClientSnapshot, [r.value for r in await snapshots_on_topics(running_system)], fresh)
        gone = [s for s in opened if s.client_id == forgotten]
        assert gone and all(s.name == ERASED and not s.phones and not s.emails and not s.consents for s in gone)
        assert any(s.client_id == kept and s.name not in (None, ERASED) for s in opened)

        report = await run(build_parser().parse_args(["rebuild"]), MetricsSettings())
        assert report["switched"] is True and report["records"] > len(records)
        assert await scan(mongo, running_system.databases["metrics"], mine) == set()
        assert set(await replay(IntakeSettings(), None, 100)) == {"released", "still_rejected"}
    finally:
        await mongo.close()
