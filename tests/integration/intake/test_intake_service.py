"""Intake use cases on the real MongoDB-compatible server: samples, merge, switchboard, redelivery, sales, replay."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from clientbase import topics
from clientbase.events.outbound import ClientSnapshot

from intake.records import view_from_record

from intake_support import RecordingPublisher, fresh_db, live_clients, make_service, sample

pytestmark = pytest.mark.integration

FORMS, CALLS, SALES = topics.LEADS_FORM_SUBMITTED, topics.LEADS_CALL_RECEIVED, topics.SALES_RECORDED


@pytest.fixture
async def db(stack_endpoints: Any) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client, database = await fresh_db(stack_endpoints.mongo_url)
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


def form(phone: str | None = None, email: str | None = None, name: str | None = None, *, at: str = "10:00",
         **extra: Any) -> bytes:
    fields = {k: v for k, v in {"phone": phone, "email": email, "name": name}.items() if v}
    fields.update(extra.pop("fields", {}))
    return json.dumps({"event_id": str(uuid.uuid4()), "occurred_at": f"2026-11-20T{at}:00+03:00",
                       "form_id": "contact", "fields": fields, "locale": "ru-RU", **extra}).encode()


def snapshots(publisher: RecordingPublisher) -> list[ClientSnapshot]:
    return [e for e in publisher.on(topics.CLIENTS_REGISTERED) + publisher.on(topics.CLIENTS_UPDATED)
            if isinstance(e, ClientSnapshot)]


async def test_every_sample_gives_the_expected_result(db: AsyncDatabase[dict[str, Any]]) -> None:
    publisher = RecordingPublisher()
    service = make_service(db, publisher)
    outcomes = {}
    for topic, raw in [*((FORMS, r) for r in sample("forms.jsonl")), *((CALLS, r) for r in sample("calls.jsonl"))]:
        outcomes[json.loads(raw)["event_id"]] = await service.ingest(topic, raw)

    ivan = {outcomes[e].client_id for e in ("f9e8d2a7-0f21-51ee-a1d3-74227c62e57f",
                                            "56a24672-dff7-52b7-ac79-9cd773f43b81",
                                            "8b17f6e5-a5e0-5ff1-916b-c7ed44392896",
                                            "c00f8380-fd44-579a-a309-afd5ba26e53d")}
    assert len(ivan) == 1, "the same person written three ways (and called back) is one client"
    clients = await live_clients(db)
    assert len(clients) == 8, "Ivan, Maria's company, Georgi, Ion, Olga and three callers"
    assert [o.kind for o in outcomes.values()].count("rejected") == 3

    by_id = {s.client_id: s for s in snapshots(publisher)}
    ivan_view = by_id[ivan.pop()]
    assert (ivan_view.kind, ivan_view.name) == ("person", "Иванов Иван")
    assert [(p.e164, p.type, p.source) for p in ivan_view.phones] == [
        ("+79161234567", "mobile", "call:c-1001")]  # the call at 09:15 came first
    assert [e.address for e in ivan_view.emails] == ["ivan.ivanov@mail.ru"]
    assert {(c.channel, c.address, c.granted) for c in ivan_view.consents} == {
        ("sms", "+79161234567", True), ("email", "ivan.ivanov@mail.ru", True)}

    registered = publisher.on(topics.CLIENTS_REGISTERED)
    updated = publisher.on(topics.CLIENTS_UPDATED)
    assert len(registered) == 8 and len(updated) == 3
    company = next(e for e in registered if e.lead_event_id == "8f7013f9-7fea-51dc-9892-3900b175eab2")
    assert (company.kind, company.name, company.company) == ("company", "ООО «СтройМаркет»", "ООО «СтройМаркет»")
    assert [(c.name, c.position) for c in company.contacts] == [("Мария Петрова", "Директор по закупкам")]
    missed = next(e for e in registered if e.lead_event_id == "b5161473-7b0f-58c5-839d-41c60e01a195")
    assert missed.hot and missed.phones[0].e164 == "+79037654321" and missed.lead_source.channel == "call"
    callback = next(e for e in updated if e.lead_event_id == "56a24672-dff7-52b7-ac79-9cd773f43b81")
    assert callback.hot and callback.lead_source.form_id == "callback"
    georgi = next(e for e in registered if e.lead_event_id == "e60a7e5e-b8a3-5a98-87a0-72b717a0626b")
    assert (georgi.country, georgi.language, georgi.missing_fields) == ("BG", "bg", ["region"])

    rejected = {e.lead_event_id: e for e in publisher.on(topics.LEADS_REJECTED)}
    assert {r.code for r in rejected["25d492a6-ee5a-5227-84f1-21688178e2ff"].reasons} == {"no_usable_contact"}
    assert [r.code for r in rejected["ce150e54-70a5-5404-9aa4-9749dfedb523"].reasons] == ["honeypot_filled"]
    assert rejected["861f5ea4-6828-5de8-a5bc-258417fa4154"].topic == CALLS.name
    kept = {q["_id"]: q async for q in db["quarantine"].find({})}
    assert {e.quarantine_id for e in rejected.values()} == set(kept)
    assert {bytes(q["raw"]) for q in kept.values()} == {sample("forms.jsonl")[6], sample("forms.jsonl")[7],
                                                       sample("calls.jsonl")[4]}


async def test_order_of_leads_does_not_change_the_records(stack_endpoints: Any) -> None:
    inputs = [*((FORMS, r) for r in sample("forms.jsonl")), *((CALLS, r) for r in sample("calls.jsonl"))]
    views = []
    for ordered in (inputs, list(reversed(inputs))):
        client, database = await fresh_db(stack_endpoints.mongo_url)
        try:
            service = make_service(database)
            for topic, raw in ordered:
                await service.ingest(topic, raw)
            records = await live_clients(database)
            views.append(sorted(json.dumps({k: v for k, v in view_from_record(r).items() if k != "client_id"},
                                           sort_keys=True, default=str) for r in records))
        finally:
            await client.drop_database(database.name)
            await client.close()
    assert views[0] == views[1]


async def test_redelivery_republishes_the_same_event_ids(db: AsyncDatabase[dict[str, Any]]) -> None:
    publisher = RecordingPublisher()
    service = make_service(db, publisher)
    raw = sample("forms.jsonl")[0]
    for _ in range(3):
        await service.ingest(FORMS, raw)
    await service.ingest(FORMS, sample("forms.jsonl")[6])
    await service.ingest(FORMS, sample("forms.jsonl")[6])
    ids = [(name, e.event_id) for name, e, _ in publisher.sent]
    assert ids[0] == ids[1] == ids[2] and ids[0][0] == topics.CLIENTS_REGISTERED.name
    assert ids[3] == ids[4] and ids[3][0] == topics.LEADS_REJECTED.name
    assert await db["identities"].count_documents({}) == 2
    assert await db["client_facts"].count_documents({}) == 1
    assert await db["quarantine"].count_documents({}) == 1


async def test_two_clients_that_turn_out_to_be_one_are_merged(db: AsyncDatabase[dict[str, Any]]) -> None:
    publisher = RecordingPublisher()
    service = make_service(db, publisher)
    first = await service.ingest(FORMS, form("+79160000001", "a@mail.ru", "Анна Орлова", at="10:00"))
    second = await service.ingest(FORMS, form("+79160000002", "b@mail.ru", "Анна Орлова", at="11:00"))
    bridge = form("+79160000001", "b@mail.ru", "Анна Орлова", at="12:00")
    merged = await service.ingest(FORMS, bridge)
    assert merged.client_id == first.client_id != second.client_id, "the older client survives"
    event = publisher.on(topics.CLIENTS_MERGED)[0]
    assert (event.client_id, event.merged_client_id) == (first.client_id, second.client_id)
    survivor = next(s for s in snapshots(publisher) if s.lead_event_id == json.loads(bridge)["event_id"])
    assert {p.e164 for p in survivor.phones} == {"+79160000001", "+79160000002"}
    assert {e.address for e in survivor.emails} == {"a@mail.ru", "b@mail.ru"}
    owners = {d["_id"]: d["client_id"] async for d in db["identities"].find({})}
    assert {await service.repo.resolve(o) for o in owners.values()} == {first.client_id}
    assert [c["_id"] for c in await live_clients(db)] == [first.client_id]

    await service.ingest(FORMS, bridge)  # redelivered: the merge event comes again, with the same id
    assert [e.event_id for e in publisher.on(topics.CLIENTS_MERGED)] == [event.event_id] * 2


async def test_shared_switchboard_links_people_as_contacts_without_overwriting(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    publisher = RecordingPublisher()
    service = make_service(db, publisher)
    maria = await service.ingest(FORMS, form("+7 495 133-20-43", "m@stroy.example", "Мария Петрова", at="10:00"))
    petr = await service.ingest(FORMS, form("+7 495 133-20-43", None, "Пётр Сидоров", at="11:00",
                                            fields={"position": "Главный инженер"}))
    again = await service.ingest(FORMS, form("84951332043", None, "петрова мария", at="12:00"))
    assert maria.client_id == petr.client_id == again.client_id
    view = snapshots(publisher)[-1]
    assert view.kind == "company"
    assert [(c.name, c.position) for c in view.contacts] == [("Мария Петрова", None),
                                                             ("Пётр Сидоров", "Главный инженер")]
    assert len(await live_clients(db)) == 1


async def test_sales_are_attributed_or_kept_and_replayed(db: AsyncDatabase[dict[str, Any]]) -> None:
    publisher = RecordingPublisher()
    service = make_service(db, publisher)
    ivan = await service.ingest(FORMS, sample("forms.jsonl")[0])

    def sale(**ref: str) -> bytes:
        return json.dumps({"event_id": str(uuid.uuid4()), "occurred_at": "2026-11-21T10:00:00+03:00",
                           "order_id": "SO-1", "kind": "order", "amount": 12500.5, "currency": "rub",
                           **ref}).encode()

    for ref in ({"client_id": ivan.client_id}, {"phone": "8 916 123 45 67"}, {"email": "IVAN.IVANOV@mail.ru"}):
        assert (await service.ingest(SALES, sale(**ref))).client_id == ivan.client_id
    attributed = publisher.on(topics.SALES_ATTRIBUTED)
    assert len(attributed) == 3 and attributed[0].currency == "RUB" and float(attributed[0].amount) == 12500.5

    unknown = sale(phone="+79169990000")
    assert (await service.ingest(SALES, unknown)).kind == "rejected"
    assert publisher.on(topics.LEADS_REJECTED)[0].reasons[0].code == "unresolved_client"
    assert await service.replay() == {"released": 0, "still_rejected": 1}
    await service.ingest(CALLS, json.dumps({
        "event_id": str(uuid.uuid4()), "occurred_at": "2026-11-21T11:00:00+03:00", "call_id": "c-9",
        "direction": "inbound", "caller": "89169990000", "callee": "+74951332043", "status": "answered",
        "default_region": "RU"}).encode())
    assert await service.replay() == {"released": 1, "still_rejected": 0}
    assert publisher.on(topics.SALES_ATTRIBUTED)[-1].sale_event_id == json.loads(unknown)["event_id"]
    assert await service.replay() == {"released": 0, "still_rejected": 0}


async def test_replay_after_a_rule_fix_registers_once(db: AsyncDatabase[dict[str, Any]]) -> None:
    raw = json.dumps({"event_id": str(uuid.uuid4()), "occurred_at": "2026-11-20T10:00:00+03:00",
                      "form_id": "contact", "fields": {"name": "Без Региона", "phone": "8 (916) 555-44-33"}}).encode()
    strict = make_service(db, default_region=None)
    assert (await strict.ingest(FORMS, raw)).kind == "rejected", "a local number without any region is unusable"
    fixed_publisher = RecordingPublisher()
    fixed = make_service(db, fixed_publisher, default_region="RU")
    assert await fixed.replay() == {"released": 1, "still_rejected": 0}
    assert await fixed.replay() == {"released": 0, "still_rejected": 0}
    await fixed.process(FORMS, raw)  # even a forced re-run changes nothing
    assert len(await live_clients(db)) == 1
    assert len({e.event_id for e in snapshots(fixed_publisher)}) == 1
    item = await db["quarantine"].find_one({})
    assert item is not None and item["status"] == "released" and item["replays"] == 1


async def test_concurrent_leads_for_one_person_make_one_client(stack_endpoints: Any) -> None:
    """Two service instances with their own connections race on the same person through many leads."""
    client_a, db_a = await fresh_db(stack_endpoints.mongo_url)
    client_b, _ = await fresh_db(stack_endpoints.mongo_url)
    db_b = client_b[db_a.name]
    try:
        services = [make_service(db_a), make_service(db_b)]
        for person in range(8):
            phone, email = f"+7916111{person:04d}", f"race{person}@mail.ru"
            leads = [form(phone, email, "Гонка Тест"), form("8" + phone[2:]), form(None, email.upper()),
                     form(phone, f"other{person}@mail.ru"), form(None, f"other{person}@mail.ru")] * 4
            results = await asyncio.gather(*(services[i % 2].ingest(FORMS, raw) for i, raw in enumerate(leads)))
            assert {r.kind for r in results} <= {"registered", "updated"}
            assert len({await services[0].repo.resolve(r.client_id or "") for r in results}) == 1
        clients = await live_clients(db_a)
        assert len(clients) == 8, "one client per person, however the leads raced"
        owners = {d["client_id"] async for d in db_a["identities"].find({})}
        resolved = {await services[0].repo.resolve(o) for o in owners}
        assert resolved == {c["_id"] for c in clients}
    finally:
        await client_a.drop_database(db_a.name)
        await client_a.close()
        await client_b.close()
