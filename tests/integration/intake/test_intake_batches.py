"""Intake's batch path: one batch of leads is one client per person, a fixed number of writes, poison alone to the DLQ."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream import TestApp
from pymongo import AsyncMongoClient, monitoring

from clientbase import topics
from clientbase.kafka.stores import handled_events
from clientbase.events.envelope import Envelope
from clientbase.kafka.reliability import Delivery
from clientbase.runtime import ServiceRuntime
from clientbase.testing.kafka_io import produce, read_records, wait_for
from clientbase.topics import Topic

from intake.handlers import build_router
from intake.repository import IntakeRepository
from intake.service import IntakeService

from intake_kafka import consume_all, create_intake_topics, intake_settings, new_prefix
from intake_support import RecordingPublisher, fresh_db, live_clients

pytestmark = pytest.mark.integration
WRITES = frozenset({"insert", "update", "delete", "findAndModify"})


def form(phone: str | None, email: str | None, name: str | None = None, *, event_id: str | None = None,
         minute: int = 0) -> bytes:
    """A contact form; a later minute makes a later lead (client ids sort by the time of their first lead)."""
    fields = {k: v for k, v in {"phone": phone, "email": email, "name": name}.items() if v}
    return json.dumps({"event_id": event_id or str(uuid.uuid4()), "occurred_at": f"2026-11-20T10:{minute:02d}:00+03:00",
                       "form_id": "contact", "fields": fields, "locale": "ru-RU"}).encode()


def deliveries(bodies: Sequence[bytes], *, redelivered: bool = False) -> list[tuple[Topic, Delivery]]:
    """Form bodies as the reliability kit hands them to intake's batch handler."""
    records = [ConsumerRecord(topics.LEADS_FORM_SUBMITTED.name, 0, i, 0, 0, None, body, None, 0, len(body), [])
               for i, body in enumerate(bodies)]
    return [(topics.LEADS_FORM_SUBMITTED, Delivery(r, json.loads(r.value).get("event_id") if r.value.startswith(
        b"{\"") else None, None, redelivered)) for r in records]


class CommandCounter(monitoring.CommandListener):
    """Counts the commands a client sends, by name."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Nothing to count."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Nothing to count."""

    def writes(self) -> int:
        return sum(name in WRITES for name in self.names)


async def test_a_batch_makes_one_client_per_person_and_redelivery_changes_nothing(stack_endpoints: Any) -> None:
    client, db = await fresh_db(stack_endpoints.mongo_url)
    publisher = RecordingPublisher()
    service = IntakeService(IntakeRepository(db), publisher, make_policy())
    batch = [form("8 (916) 700-10-01", None, "Пётр Первый"), form("+79167001001", "petr@mail.ru", minute=1),
             b"{broken", form("+359888123456", "georgi@abv.bg", "Георги Димитров", minute=2),
             form(None, "PETR@mail.ru", minute=3)]
    try:
        first = await service.ingest_batch(deliveries(batch))
        assert [o.kind for o in first] == ["registered", "updated", "rejected", "registered", "updated"]
        assert first[0].client_id == first[1].client_id == first[4].client_id != first[3].client_id
        clients = await live_clients(db)
        assert len(clients) == 2
        again = await service.ingest_batch(deliveries(batch, redelivered=True))
        assert [o.kind for o in again] == [o.kind for o in first]
        assert [[e.event_id for _, e, _ in o.events] for o in again] == [
            [e.event_id for _, e, _ in o.events] for o in first], "a redelivery republishes the same event ids"
        assert len(await live_clients(db)) == 2
        assert await db["quarantine"].count_documents({}) == 1
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_writes_per_batch_do_not_grow_with_the_batch(stack_endpoints: Any) -> None:
    counter = CommandCounter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True,
                                                                 event_listeners=[counter])
    _, db0 = await fresh_db(stack_endpoints.mongo_url)
    db = client[db0.name]
    service = IntakeService(IntakeRepository(db), RecordingPublisher(), make_policy())
    try:
        writes = []
        for size in (20, 200):
            batch = [form(f"+7916{size:03d}{i:04d}", f"p{size}-{i}@mail.ru", f"Имя Номер{i}") for i in range(size)]
            before = counter.writes()
            outcomes = await service.ingest_batch(deliveries(batch))
            assert {o.kind for o in outcomes} == {"registered"}
            writes.append(counter.writes() - before)
        assert writes[0] == writes[1] <= 3, f"bulk writes per batch: {writes}"
    finally:
        await client.drop_database(db.name)
        await client.close()


class PoisonedIntake(IntakeService):
    """Intake whose publishing fails for one lead, as a bug that no retry fixes would."""

    poison: str = ""

    async def _publish(self, events: Sequence[tuple[Topic, Envelope, str]]) -> None:
        if any(getattr(event, "lead_event_id", None) == self.poison for _, event, _ in events):
            raise RuntimeError("cannot publish this lead")
        await super()._publish(events)


async def test_two_leads_of_one_person_a_poison_record_and_a_duplicate_in_one_batch(stack_endpoints: Any) -> None:
    prefix = new_prefix()
    bootstrap = stack_endpoints.kafka_bootstrap
    await create_intake_topics(bootstrap, prefix)
    settings = intake_settings(stack_endpoints, prefix)
    settings.reliability.max_attempts = 2
    runtime = ServiceRuntime("intake", settings)
    poison_id = str(uuid.uuid4())
    PoisonedIntake.poison = poison_id

    def service() -> IntakeService:
        return PoisonedIntake(IntakeRepository(runtime.db, reads=runtime.reads), runtime.publisher,
                              settings.policy(), topic_prefix=prefix)

    runtime.include([build_router(runtime, service, prefix=prefix)])
    app = runtime.build_app("intake under test")
    first = form("8 (916) 700-20-02", None, "Анна Вторая")
    bodies = [first, form("+79167002002", "anna@mail.ru", "Анна Вторая", minute=1),
              form("+79167009999", None, event_id=poison_id, minute=2), first]
    topic = prefix + topics.LEADS_FORM_SUBMITTED.name
    await produce(bootstrap, topic, bodies, key=b"one-partition", partition=0)  # one poll, one batch
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
    db = mongo[settings.database]
    try:
        async with TestApp(app):
            [dead] = await read_records(bootstrap, topic + ".dlq", 1, timeout_s=60.0)

            async def both_handled() -> bool:
                return await handled_events(db) == 2

            await wait_for(both_handled, timeout_s=60.0)
        assert dead.value == bodies[2]
        assert {k: v.decode() for k, v in dead.headers}["x-dlq-attempts"] == "2"
        anna = [c for c in await live_clients(db) if "+79167002002" in {p["e164"] for p in c["phones"].values()}]
        assert len(anna) == 1, "two leads of one person in one batch are one client"
        assert {e["address"] for e in anna[0]["emails"].values()} == {"anna@mail.ru"}
        registered = [json.loads(r) for r in await consume_all(bootstrap, prefix + topics.CLIENTS_REGISTERED.name)]
        updated = [json.loads(r) for r in await consume_all(bootstrap, prefix + topics.CLIENTS_UPDATED.name)]
        assert [r["lead_event_id"] for r in registered] == [json.loads(first)["event_id"]], "one effect per lead"
        assert [u["client_id"] for u in updated] == [anna[0]["_id"]]
        assert poison_id not in {r["lead_event_id"] for r in registered + updated}
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()


def make_policy() -> Any:
    """The default intake rules."""
    from intake.domain import IntakePolicy
    return IntakePolicy()
