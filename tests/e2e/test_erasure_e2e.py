"""End to end: a client with leads, sales, an owner, consents and sent messages is erased from all four services.

The services run as processes on topics of their own. Before the erasure the export holds the client's data
in every service; after it no database and no newly published event holds the phone (in any format), the
email, the name or the IP address the test fed, the metrics figures are the same, a request to message the
client ends `suppressed`/`erased`, the export holds nothing, the audit trail says what each service did,
and a rebuild of metrics from the topics brings nothing back into its database.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from bson import json_util
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.system.secrets import local_secrets
from clientbase.system.services import SERVICES
from clientbase.testing.kafka_io import wait_for

pytestmark = pytest.mark.e2e

SERVICE_NAMES = tuple(spec.name for spec in SERVICES)


def port(service: str) -> int:
    """A service's HTTP port in this run (the system fixture moves it)."""
    return next(spec.port for spec in SERVICES if spec.name == service)

FIGURES = ("/metrics/retention", "/metrics/managers", "/metrics/sources")


@pytest.fixture(scope="module")
def system_env() -> dict[str, str]:
    """An always-open send window and quick retries, so messages go out during the test."""
    return {"NOTIFY_QUIET_START": "00:00", "NOTIFY_QUIET_END": "00:00", "NOTIFY_SCHEDULER_INTERVAL_S": "1",
            "NOTIFY_RECIPIENT_RETRY_S": "1", "METRICS_ROLLUP_INTERVAL_S": "1"}


class Person:
    """The data subject: contact points in the formats people and switches write them."""

    def __init__(self) -> None:
        digits = "".join(random.choice("0123456789") for _ in range(7))
        self.e164 = f"+7916{digits}"
        self.typed = f"8 (916) {digits[:3]}-{digits[3:5]}-{digits[5:]}"
        self.switch = f"8916{digits}"
        suffix = "".join(random.choice("абвгдежзиклмн") for _ in range(6))
        self.surname = f"Забытова{suffix}"
        self.name = f"Марина {self.surname}"
        self.email = f"Marina.{uuid.uuid4().hex[:10]}@Mail.Example"
        self.ip = f"203.0.113.{random.randint(100, 250)}"
        self.birthday = f"19{random.randint(50, 99)}-{random.randint(1, 12):02d}-{random.randint(10, 28)}"

    def needles(self) -> list[str]:
        """Every form of the personal data the test fed, lower-cased for the scans."""
        return [n.lower() for n in (self.e164[2:], self.typed, self.typed[8:], self.switch[1:], self.email,
                                    self.surname, self.name, self.ip, self.birthday)]


def found_in(text: str, person: Person) -> list[str]:
    """The needles a text holds."""
    lowered = text.lower()
    return [n for n in person.needles() if n in lowered]


def as_text(record: Any) -> str:
    """A Kafka record's topic, key, headers and value as one text."""
    headers = " ".join(f"{k}={(v or b'').decode('utf-8', 'replace')}" for k, v in record.headers)
    key, value = (record.key or b"").decode("utf-8", "replace"), (record.value or b"").decode("utf-8", "replace")
    return f"{record.topic} {key} {headers} {value}"


def now() -> str:
    return datetime.now(UTC).isoformat()


def bearer(value: str) -> dict[str, str]:
    """The Authorization header of a token setting such as `secret:pii`."""
    return {"Authorization": f"Bearer {value.partition(':')[0]}"}


class Edges:
    """Publishes at the edges of the running system and reads its APIs and databases."""

    def __init__(self, system: Any) -> None:
        self.system = system
        self.secrets = local_secrets(system.launcher.config.state_dir)
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(system.mongo_url, tz_aware=True)
        self.producer = AIOKafkaProducer(bootstrap_servers=system.kafka_bootstrap, acks="all")

    async def publish(self, topic: topics.Topic, payload: dict[str, Any], key: str) -> None:
        await self.producer.send_and_wait(self.system.topic(topic.name), json.dumps(payload).encode(),
                                          key=key.encode())

    async def get(self, service: str, path: str, token: str, **params: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.get(f"http://127.0.0.1:{port(service)}{path}", params=params,
                                  headers=bearer(self.secrets[token]))

    def db(self, service: str) -> Any:
        return self.mongo[self.system.databases[service]]

    async def dump(self, service: str) -> dict[str, str]:
        """Every collection of a service's database as JSON text."""
        db = self.db(service)
        return {name: json_util.dumps(await db[name].find().to_list(), ensure_ascii=False)
                for name in await db.list_collection_names()}

    async def figures(self) -> dict[str, Any]:
        """The metrics read API's answers over a range that holds the whole test."""
        start = date.today().replace(day=1) - timedelta(days=40)
        span = {"from": start.replace(day=1).isoformat(), "to": (date.today() + timedelta(days=70)).isoformat()}
        answers = {}
        for path in FIGURES:
            params = {**span, "period": "month"} if path.endswith("retention") else span
            answer = await self.get("metrics", path, "METRICS_API_TOKEN", **params)
            assert answer.status_code == 200, answer.text
            answers[path] = answer.json()
        return answers

    async def outcome(self, request_id: str) -> dict[str, Any]:
        """The final outcome of a notification request."""
        found: list[dict[str, Any]] = []
        consumer = AIOKafkaConsumer(self.system.topic(topics.NOTIFICATIONS_OUTCOMES.name), group_id=None,
                                    bootstrap_servers=self.system.kafka_bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        try:
            async def arrived() -> bool:
                batch = await consumer.getmany(timeout_ms=200)
                found.extend(o for rs in batch.values() for r in rs if (o := json.loads(r.value))[
                    "request_event_id"] == request_id and o["status"] != "deferred")
                return bool(found)

            await wait_for(arrived, timeout_s=90)
        finally:
            await consumer.stop()
        return found[0]

    def partitions(self) -> list[TopicPartition]:
        """Every partition of the run's topics, dead-letter topics included."""
        return [TopicPartition(self.system.topic(name), p) for name, count in topics.all_topic_names_and_partitions()
                for p in range(count)]

    async def offsets(self) -> dict[TopicPartition, int]:
        """The end offset of every partition of the run's topics now."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.system.kafka_bootstrap, group_id=None)
        await consumer.start()
        try:
            return await consumer.end_offsets(self.partitions())
        finally:
            await consumer.stop()

    async def published_since(self, since: dict[TopicPartition, int]) -> list[str]:
        """Every record published after the given offsets (partitions not given: none), as text (key, headers, value)."""
        until = await self.offsets()
        wanted = {tp: (since.get(tp, end), end) for tp, end in until.items() if end > since.get(tp, end)}
        texts: list[str] = []
        if not wanted:
            return texts
        consumer = AIOKafkaConsumer(bootstrap_servers=self.system.kafka_bootstrap, group_id=None,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(list(wanted))
            for tp, (start, _) in wanted.items():
                consumer.seek(tp, start)
            pending = dict(wanted)

            async def drained() -> bool:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    texts.extend(as_text(r) for r in records if r.offset < wanted[tp][1])
                for tp in list(pending):
                    if await consumer.position(tp) >= wanted[tp][1]:
                        pending.pop(tp)
                return not pending

            await wait_for(drained, timeout_s=60)
        finally:
            await consumer.stop()
        return texts

    def export(self, client_id: str, out: Path) -> dict[str, Any]:
        """`clientbase-intake export CLIENT_ID`, run as the operator runs it."""
        env = {**os.environ, "PRIVACY_API_TOKEN": self.secrets["PRIVACY_API_TOKEN"],
               "INTAKE_EXPORT_SERVICES": json.dumps({n: f"http://127.0.0.1:{port(n)}" for n in SERVICE_NAMES}),
               "LOG_LEVEL": "WARNING"}
        done = subprocess.run([str(Path(sys.executable).parent / "clientbase-intake"), "export", client_id,
                               "--requested-by", "dpo@company.example", "--legal-basis", "gdpr-art-15",
                               "-o", str(out)], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(out.read_text())

    async def close(self) -> None:
        await self.producer.stop()
        await self.mongo.close()


@pytest.fixture(scope="module")
async def edges(running_system) -> Iterator[Edges]:
    kit = Edges(running_system)
    await kit.producer.start()
    try:
        yield kit
    finally:
        await kit.close()


def form(person: Person, **extra: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "occurred_at": now(), "form_id": "landing-erasure",
            "utm": {"source": "google", "medium": "cpc", "campaign": "erasure"},
            "fields": {"name": f"  {person.surname.lower()}   Марина ", "phone": person.typed,
                       "email": f" {person.email} ", "region": "Москва", "birthday": person.birthday,
                       "comment": f"Перезвоните {person.name}, {person.typed}"},
            "consents": [{"channel": "sms", "granted": True, "text": "Согласна на SMS", "text_version": "1"},
                         {"channel": "email", "granted": True, "text": "Согласна на email", "text_version": "1"}],
            "client_ip": person.ip, "locale": "ru-RU", **extra}


async def wait_value(produce: Any, timeout_s: float = 120) -> Any:
    """Poll until `produce` returns something truthy; return it."""
    box: list[Any] = []

    async def ready() -> bool:
        value = await produce()
        if value:
            box.append(value)
        return bool(value)

    await wait_for(ready, timeout_s=timeout_s, interval_s=0.5)
    return box[-1]


async def build_history(edges: Edges, person: Person) -> tuple[str, str]:
    """A client with two leads, a rejected lead, an owner, two sales, consents, sent messages and an opt-out."""
    orders_before = sum(i["orders"] for i in (await edges.figures())["/metrics/retention"]["items"])
    manager = {"event_id": str(uuid.uuid4()), "occurred_at": now(), "manager_id": "m-erasure-1",
               "name": "Анна Менеджерова", "email": "anna.manager@company.example", "grade": 1, "status": "active",
               "capacity": 50, "regions": ["RU"], "languages": ["ru"]}
    await edges.publish(topics.MANAGERS_CHANGED, manager, manager["manager_id"])
    await edges.publish(topics.LEADS_FORM_SUBMITTED, form(person), "form-1")
    await edges.publish(topics.LEADS_CALL_RECEIVED, {
        "event_id": str(uuid.uuid4()), "occurred_at": now(), "call_id": f"c-{uuid.uuid4().hex[:8]}",
        "direction": "inbound", "caller": person.switch, "callee": "+74951332043", "status": "answered",
        "duration_s": 95, "manager_id": "m-erasure-1", "default_region": "RU"}, "call-1")
    bot = form(person)
    bot["fields"] = {**bot["fields"], "website": "http://spam.example"}
    await edges.publish(topics.LEADS_FORM_SUBMITTED, bot, "form-bot")

    async def registered() -> str | None:
        answer = await edges.get("intake", "/clients", "INTAKE_API_TOKEN", phone=person.typed)
        return answer.json()["client_id"] if answer.status_code == 200 else None

    client_id = await wait_value(registered)

    async def owned() -> str | None:
        doc = await edges.db("rotation")["clients"].find_one({"_id": client_id})
        return (doc or {}).get("manager_id")

    assert await wait_value(owned) == "m-erasure-1"
    for number, reference in ((1, {"client_id": client_id}), (2, {"phone": person.typed})):
        await edges.publish(topics.SALES_RECORDED, {
            "event_id": str(uuid.uuid4()), "occurred_at": now(), "order_id": f"SO-E-{uuid.uuid4().hex[:6]}-{number}",
            "kind": "order", "amount": 1000 * number, "currency": "RUB", "manager_id": "m-erasure-1", **reference},
            client_id)
    sms = {"event_id": str(uuid.uuid4()), "occurred_at": now(), "client_id": client_id, "channel": "sms",
           "category": "marketing", "template": "promo_generic", "params": {"offer": f"Скидка для {person.name}"}}
    mail = {"event_id": str(uuid.uuid4()), "occurred_at": now(), "client_id": client_id, "channel": "email",
            "category": "service", "template": "order_status", "params": {"order_id": "SO-E-1", "status": "собран"}}
    for request in (sms, mail):
        await edges.publish(topics.NOTIFICATIONS_REQUESTED, request, client_id)
    for request in (sms, mail):
        outcome = await edges.outcome(request["event_id"])
        assert outcome["status"] == "sent", outcome
    await edges.publish(topics.CONSENTS_CHANGED, {
        "event_id": str(uuid.uuid4()), "occurred_at": now(), "channel": "sms", "address": person.e164,
        "granted": False, "source": "sms-stop"}, person.e164)

    async def settled() -> dict[str, Any] | None:
        figures = await edges.figures()
        orders = sum(i["orders"] for i in figures["/metrics/retention"]["items"])
        opted_out = await edges.db("notify")["consent_ledger"].count_documents({"key": f"sms:{person.e164}",
                                                                                "kind": "revoke"})
        return figures if orders == orders_before + 2 and opted_out == 1 else None

    await wait_value(settled)
    return client_id, manager["manager_id"]


@pytest.mark.timeout(900)
async def test_an_erased_client_leaves_no_personal_data_and_the_figures_stay(
        running_system, edges: Edges, tmp_path: Path) -> None:
    person = Person()
    client_id, _ = await build_history(edges, person)
    before_figures = await edges.figures()

    exported = edges.export(client_id, tmp_path / "before.json")
    assert exported["complete"], exported
    for service in SERVICE_NAMES:
        answer = exported["services"][service]
        assert answer["erased"] is False and answer["data"], (service, answer)
    assert set(exported["services"]["notify"]["data"]) >= {"clients", "consent_ledger", "requests"}
    assert {"sales", "leads"} <= set(exported["services"]["metrics"]["data"])
    assert {person.e164[2:], person.email.lower(), person.surname.lower()} <= set(
        found_in(json.dumps(exported, ensure_ascii=False), person))

    since = await edges.offsets()
    async with httpx.AsyncClient(timeout=30) as http:
        asked = await http.post(f"http://127.0.0.1:{port('intake')}/clients/erasure-requests",
                                headers=bearer(edges.secrets["PRIVACY_API_TOKEN"]),
                                json={"phone": person.typed, "requested_by": "dpo@company.example",
                                      "legal_basis": "gdpr-art-17", "reference": "DSR-E2E-1"})
    assert asked.status_code == 202, asked.text
    assert asked.json()["client_id"] == client_id

    async def reported() -> list[dict[str, Any]] | None:
        answer = await edges.get("intake", f"/clients/{client_id}/audit", "PRIVACY_API_TOKEN")
        entries = answer.json()["entries"]
        erased = [e for e in entries if e["kind"] == "erased"]
        return entries if {e["service"] for e in erased} == set(SERVICE_NAMES) else None

    audit = await wait_value(reported)
    by_service = {e["service"]: e for e in audit if e["kind"] == "erased"}
    assert by_service["intake"]["collections"]["client_facts"] >= 2
    assert by_service["intake"]["collections"]["identities"] >= 2
    assert by_service["intake"]["collections"]["quarantine"] >= 1
    assert by_service["notify"]["collections"]["consent_ledger"] >= 3
    assert by_service["notify"]["collections"]["requests"] >= 2
    assert by_service["rotation"]["collections"]["clients"] == 1
    assert by_service["metrics"]["collections"] == {"erasures": 1}
    asked_for = next(e for e in audit if e["kind"] == "erasure_asked")
    assert (asked_for["legal_basis"], asked_for["requested_by"], asked_for["subject"]) == (
        "gdpr-art-17", "dpo@company.example", "phone")
    request = next(e for e in audit if e["kind"] == "erasure_requested")
    assert request["request_event_id"] == asked.json()["event_id"] and request["reference"] == "DSR-E2E-1"
    assert any(e["kind"] == "export" and e["legal_basis"] == "gdpr-art-15" for e in audit)

    for service in SERVICE_NAMES:
        leaks = {name: found_in(text, person) for name, text in (await edges.dump(service)).items()}
        assert not {k: v for k, v in leaks.items() if v}, f"{service} still holds personal data: {leaks}"
    published = await edges.published_since(since)
    assert any(topics.CLIENTS_ERASED.name in text for text in published)
    leaked = [text[:300] for text in published if found_in(text, person)]
    assert not leaked, f"events published after the erasure hold personal data: {leaked}"

    assert await edges.figures() == before_figures

    again = {"event_id": str(uuid.uuid4()), "occurred_at": now(), "client_id": client_id, "channel": "sms",
             "category": "service", "template": "order_status",
             "params": {"order_id": "SO-E-2", "status": f"ok, {person.name}"}}
    await edges.publish(topics.NOTIFICATIONS_REQUESTED, again, client_id)
    outcome = await edges.outcome(again["event_id"])
    assert (outcome["status"], outcome["reason"]) == ("suppressed", "erased")
    leaks = {name: found_in(text, person) for name, text in (await edges.dump("notify")).items()}
    assert not {k: v for k, v in leaks.items() if v}, f"a request for the erased client kept its params: {leaks}"

    record = await edges.get("intake", f"/clients/{client_id}", "INTAKE_API_TOKEN")
    assert (record.status_code, record.json()["error"]) == (404, "client_erased")
    after = edges.export(client_id, tmp_path / "after.json")
    for service in SERVICE_NAMES:
        answer = after["services"][service]
        assert answer["erased"] is True and answer["data"] == {}, (service, answer)
    assert not found_in(json.dumps(after, ensure_ascii=False), person)

    rebuilt = subprocess.run(
        [str(Path(sys.executable).parent / "clientbase-metrics"), "rebuild"], capture_output=True, text=True,
        timeout=300, env={**os.environ, "METRICS_DATABASE": running_system.databases["metrics"],
                          "METRICS_TOPIC_PREFIX": running_system.prefix, "LOG_LEVEL": "WARNING",
                          "KAFKA_BOOTSTRAP_SERVERS": running_system.kafka_bootstrap,
                          "MONGO_URL": running_system.mongo_url})
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    leaks = {name: found_in(text, person) for name, text in (await edges.dump("metrics")).items()}
    assert not {k: v for k, v in leaks.items() if v}, f"a rebuild brought personal data back: {leaks}"
    # Replaying the services' own output from the start: client events carry the person sealed under a destroyed key.
    client_topics = {running_system.prefix + t.name for t in (topics.CLIENTS_REGISTERED, topics.CLIENTS_UPDATED,
                                                              topics.CLIENTS_MERGED, topics.CLIENTS_ASSIGNED)}
    history = await edges.published_since({tp: 0 for tp in await edges.offsets() if tp.topic in client_topics})
    assert any(client_id in text for text in history), "the client's own events are on the topics"
    replayed = [text[:300] for text in history if found_in(text, person)]
    assert not replayed, f"the client's events on the topics read in clear: {replayed}"
    assert await wait_value(lambda: _same(edges, before_figures), timeout_s=60)


async def _same(edges: Edges, expected: dict[str, Any]) -> bool:
    """Whether the metrics API answers the expected figures."""
    return await edges.figures() == expected


@pytest.mark.timeout(600)
async def test_the_same_person_coming_back_is_a_new_client_and_an_old_opt_out_still_holds(edges: Edges) -> None:
    person = Person()
    client_id, _ = await build_history(edges, person)
    request_id = str(uuid.uuid4())
    await edges.publish(topics.CLIENTS_ERASURE_REQUESTED, {
        "event_id": request_id, "occurred_at": now(), "email": person.email.upper(),
        "requested_by": "dpo@company.example", "legal_basis": "152-fz-art-21"}, request_id)

    async def erased_everywhere() -> bool:
        marks = [await edges.db(s)["erasures"].count_documents({"_id": client_id}) for s in SERVICE_NAMES]
        return marks == [1, 1, 1, 1]

    await wait_for(erased_everywhere, timeout_s=120)
    audit = (await edges.get("intake", f"/clients/{client_id}/audit", "PRIVACY_API_TOKEN")).json()["entries"]
    requests = {e["outcome"]: e for e in audit if e["kind"] == "erasure_requested"}
    assert requests["resolved"]["subject"] == "email" and requests["resolved"]["request_event_id"] == request_id
    assert requests["accepted"]["resolved_from"] == request_id, "intake resolved the email and named the client"
    await edges.publish(topics.LEADS_FORM_SUBMITTED, form(person), "form-again")

    async def registered() -> str | None:
        answer = await edges.get("intake", "/clients", "INTAKE_API_TOKEN", phone=person.typed)
        return answer.json()["client_id"] if answer.status_code == 200 else None

    newcomer = await wait_value(registered)
    assert newcomer != client_id
    promo = {"event_id": str(uuid.uuid4()), "occurred_at": now(), "client_id": newcomer, "channel": "sms",
             "category": "marketing", "template": "promo_generic", "params": {"offer": "Скидка"}}
    await edges.publish(topics.NOTIFICATIONS_REQUESTED, promo, newcomer)
    outcome = await edges.outcome(promo["event_id"])
    assert (outcome["status"], outcome["reason"]) == ("suppressed", "suppressed_address")
