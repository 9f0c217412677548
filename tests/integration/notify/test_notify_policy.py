"""Notify through its public topics on the real stack: every §3.6 refusal, the sends, deferral and redelivery."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.events.envelope import derived_event_id
from clientbase.events.outbound import ClientAssigned, HandoverOpened, HandoverOverdue, HotLeadUntouched
from clientbase.stack.ports import free_ports
from clientbase.testing.kafka_io import wait_for

from notify.app import create_app
from clientbase.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from notify.tokens import issue

from notify_kit import (
    WEBHOOK_SECRET, Mailpit, Outcomes, Producer, SinkServer, client_registered, consent, create_notify_topics,
    new_prefix, notify_settings, request, serving, unique_email, unique_phone,
)

pytestmark = pytest.mark.integration

NOON_MOSCOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that runs at real speed from a chosen start, and can jump."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, moment: datetime) -> None:
        self.offset = moment - datetime.now(UTC)


@dataclass
class Notify:
    """A running notify app on its own topics, with what tests need around it."""

    produce: Producer
    outcomes: Outcomes
    mail: Mailpit
    sink: Any
    db: Any
    clock: Clock
    http: str

    async def register(self, client_id: str, **kwargs: Any) -> None:
        await self.produce.send(topics.CLIENTS_REGISTERED, [client_registered(client_id, **kwargs)], key=client_id)

    async def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        await self.produce.send(topics.NOTIFICATIONS_REQUESTED, [body], key=body.get("client_id") or "m")
        return await self.outcomes.final(body["event_id"])


@pytest.fixture(scope="module")
async def notify(stack_endpoints: Any, mail_endpoints: Any) -> AsyncIterator[Notify]:
    prefix = new_prefix()
    await create_notify_topics(stack_endpoints.kafka_bootstrap, prefix)
    clock = Clock(NOON_MOSCOW)
    port = free_ports(1)[0]
    async with SinkServer() as sink:
        settings = notify_settings(stack_endpoints, mail_endpoints, prefix, twilio_url=sink.url,
                                   public_url=f"http://127.0.0.1:{port}")
        app = create_app(settings, clock=clock)
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
        outcomes = Outcomes(stack_endpoints.kafka_bootstrap, prefix)
        await outcomes.start()
        try:
            async with serving(app, port):
                yield Notify(Producer(stack_endpoints.kafka_bootstrap, prefix), outcomes,
                             Mailpit(mail_endpoints.mailpit_url), sink, mongo[settings.database], clock,
                             f"http://127.0.0.1:{port}")
        finally:
            await outcomes.stop()
            await mongo.drop_database(settings.database)
            await mongo.close()


async def test_marketing_without_consent_is_suppressed(notify: Notify) -> None:
    client = f"cl-{time.time_ns()}"
    await notify.register(client, phones=[(unique_phone(), "mobile")])
    outcome = await notify.ask(request(client, channel="sms"))
    assert (outcome["status"], outcome["reason"]) == ("suppressed", "no_consent")


async def test_service_message_without_marketing_consent_is_sent(notify: Notify) -> None:
    client, phone = f"cl-{time.time_ns()}", unique_phone()
    await notify.register(client, phones=[(phone, "mobile")])
    body = request(client, channel="sms", category="service", template="order_status",
                   params={"order_id": "SO-1", "status": "отгружен"})
    outcome = await notify.ask(body)
    assert (outcome["status"], outcome["reason"], outcome["provider"]) == ("sent", None, "twilio")
    sms = [m for m in notify.sink.sink.messages if m["to"] == phone]
    assert len(sms) == 1 and "SO-1" in sms[0]["body"] and sms[0]["idempotency_key"] == body["event_id"]


async def test_fixed_line_gets_no_sms(notify: Notify) -> None:
    client = f"cl-{time.time_ns()}"
    await notify.register(client, phones=[("+74951332043", "fixed")])
    outcome = await notify.ask(request(client, channel="sms", category="service", template="order_status",
                                       params={"order_id": "1", "status": "ok"}))
    assert (outcome["status"], outcome["reason"]) == ("suppressed", "not_mobile")


async def test_opt_out_on_consents_changed_wins(notify: Notify) -> None:
    client, phone = f"cl-{time.time_ns()}", unique_phone()
    await notify.register(client, phones=[(phone, "mobile")], consents=[consent("sms", phone)])
    await notify.produce.send(topics.CONSENTS_CHANGED, [{
        "event_id": f"cc-{time.time_ns()}", "occurred_at": datetime.now(UTC).isoformat(), "channel": "sms",
        "address": phone, "granted": False, "source": "crm"}], key=phone)
    await _until_ledger(notify, f"sms:{phone}", 2)
    outcome = await notify.ask(request(client, channel="sms"))
    assert (outcome["status"], outcome["reason"]) == ("suppressed", "opted_out")


async def test_marketing_email_has_one_click_unsubscribe_and_the_post_opts_out(notify: Notify) -> None:
    client, email = f"cl-{time.time_ns()}", unique_email("unsub")
    await notify.register(client, emails=[email], locale="bg-BG")
    await notify.produce.send(topics.CONSENTS_CHANGED, [{
        "event_id": f"cc-{time.time_ns()}", "occurred_at": datetime.now(UTC).isoformat(), "channel": "email",
        "address": email.upper(), "granted": True, "source": "crm", "text": "Да", "text_version": "1"}])
    await _until_ledger(notify, f"email:{email}", 1)
    outcome = await notify.ask(request(client))
    assert (outcome["status"], outcome["provider"]) == ("sent", "smtp")
    [summary] = await notify.mail.wait_for_messages(email)
    headers = await notify.mail.headers(summary["ID"])
    assert headers["List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    link = headers["List-Unsubscribe"][0].strip("<>")
    assert link.startswith(notify.http + "/unsubscribe?t=")
    assert headers["Message-Id"][0].strip("<>").startswith(outcome["request_event_id"])
    message = await notify.mail.message(summary["ID"])
    assert message["Subject"] == "Специална оферта за вас" and "Здравейте" in message["Text"]
    async with httpx.AsyncClient() as http:
        page = await http.get(link)
        assert page.status_code == 200 and "<form" in page.text
        assert await notify.db["consent_ledger"].count_documents({"key": f"email:{email}"}) == 1  # GET changed nothing
        for _ in range(2):  # one-click POST, idempotent
            answer = await http.post(link, content=b"List-Unsubscribe=One-Click",
                                     headers={"content-type": "application/x-www-form-urlencoded"})
            assert answer.status_code == 200
    assert await notify.db["consent_ledger"].count_documents({"key": f"email:{email}"}) == 2
    outcome = await notify.ask(request(client))
    assert (outcome["status"], outcome["reason"]) == ("suppressed", "opted_out")


async def test_tampered_token_is_refused_and_changes_nothing(notify: Notify) -> None:
    token = issue(b"test-token-key", "unsubscribe", "email", "victim@mail.example", now=time.time(), ttl_s=60)
    payload, _, mac = token.partition(".")
    forged = issue(b"test-token-key", "unsubscribe", "email", "other@mail.example", now=time.time(), ttl_s=60)
    tampered = forged.partition(".")[0] + "." + mac
    expired = issue(b"test-token-key", "unsubscribe", "email", "victim@mail.example", now=time.time() - 120, ttl_s=60)
    before = await notify.db["consent_ledger"].count_documents({})
    async with httpx.AsyncClient() as http:
        for bad in (tampered, expired, payload + ".AAAA", "garbage"):
            answer = await http.post(f"{notify.http}/unsubscribe", params={"t": bad},
                                     content=b"List-Unsubscribe=One-Click")
            assert answer.status_code in (400, 403)
    assert await notify.db["consent_ledger"].count_documents({}) == before


async def test_sms_stop_in_russian_opts_the_number_out(notify: Notify) -> None:
    client, phone = f"cl-{time.time_ns()}", unique_phone()
    await notify.register(client, phones=[(phone, "mobile")], consents=[consent("sms", phone)])
    await _until_ledger(notify, f"sms:{phone}", 1)
    body = f"From={phone.replace('+', '%2B')}&Body=%20%D0%A1%D1%82%D0%BE%D0%BF%20&MessageSid=SM{time.time_ns()}".encode()
    stamp = str(int(time.time()))
    async with httpx.AsyncClient() as http:
        unsigned = await http.post(f"{notify.http}/webhooks/sms", content=body)
        assert unsigned.status_code == 401
        answer = await http.post(f"{notify.http}/webhooks/sms", content=body, headers={
            TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(WEBHOOK_SECRET.encode(), stamp, body),
            "content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and answer.json() == {"action": "stop"}
    outcome = await notify.ask(request(client, channel="sms"))
    assert (outcome["status"], outcome["reason"]) == ("suppressed", "opted_out")


async def test_unconfirmed_email_is_suppressed_until_the_link_is_confirmed(notify: Notify) -> None:
    client, email = f"cl-{time.time_ns()}", unique_email("doi")
    await notify.register(client, emails=[email], consents=[consent("email", email)], locale="ro-RO")
    [summary] = await notify.mail.wait_for_messages(email)
    message = await notify.mail.message(summary["ID"])
    assert message["Subject"] == "Confirmați abonarea"
    outcome = await notify.ask(request(client))
    assert (outcome["status"], outcome["reason"]) == ("suppressed", "unconfirmed")
    link = next(w for w in message["Text"].split() if w.startswith("http"))
    token = parse_qs(urlparse(link).query)["t"][0]
    async with httpx.AsyncClient() as http:
        page = await http.get(link)
        assert page.status_code == 200 and 'method="post"' in page.text
        assert (await http.post(f"{notify.http}/confirm", params={"t": token})).status_code == 200
    outcome = await notify.ask(request(client))
    assert outcome["status"] == "sent"
    assert len(await notify.mail.wait_for_messages(email, 2)) == 2


async def test_second_marketing_within_the_window_is_suppressed(notify: Notify) -> None:
    client, phone = f"cl-{time.time_ns()}", unique_phone()
    await notify.register(client, phones=[(phone, "mobile")], consents=[consent("sms", phone)])
    first = await notify.ask(request(client, channel="sms"))
    second = await notify.ask(request(client, channel="sms"))
    assert first["status"] == "sent"
    assert (second["status"], second["reason"]) == ("suppressed", "frequency")


async def test_missing_template_variable_fails_the_request(notify: Notify) -> None:
    client, phone = f"cl-{time.time_ns()}", unique_phone()
    await notify.register(client, phones=[(phone, "mobile")])
    outcome = await notify.ask(request(client, channel="sms", category="service", template="order_status",
                                       params={"order_id": "SO-2"}))
    assert (outcome["status"], outcome["reason"]) == ("failed", "template_error")
    assert not [m for m in notify.sink.sink.messages if m["to"] == phone]


async def test_the_same_request_delivered_twice_sends_one_email(notify: Notify) -> None:
    client, email = f"cl-{time.time_ns()}", unique_email("twice")
    await notify.register(client, emails=[email])
    body = request(client, category="service", template="order_status", params={"order_id": "7", "status": "ok"})
    await notify.produce.send(topics.NOTIFICATIONS_REQUESTED, [body, body], key=client)
    await notify.outcomes.final(body["event_id"])
    await notify.produce.send(topics.NOTIFICATIONS_REQUESTED, [body], key=client)
    twin = request(client, category="service", template="order_status", params={"order_id": "7", "status": "ok"},
                   dedupe_key="order-7-ok")
    again = {**twin, "event_id": twin["event_id"] + "-b"}
    await notify.produce.send(topics.NOTIFICATIONS_REQUESTED, [twin, again], key=client)
    assert (await notify.outcomes.final(again["event_id"]))["reason"] == "duplicate"
    assert len(await notify.mail.wait_for_messages(email, 2)) == 2
    finals = [o for o in await notify.outcomes.of(body["event_id"]) if o["status"] != "deferred"]
    assert len({o["event_id"] for o in finals}) == 1


async def test_quiet_hours_defer_until_the_window_opens(notify: Notify) -> None:
    client, phone = f"cl-{time.time_ns()}", unique_phone()
    await notify.register(client, phones=[(phone, "mobile")], region="Москва")
    notify.clock.jump_to(datetime(2026, 11, 20, 20, 30, tzinfo=UTC))  # 23:30 in Moscow
    try:
        body = request(client, channel="sms", category="service", template="order_status",
                       params={"order_id": "N-1", "status": "ok"})
        await notify.produce.send(topics.NOTIFICATIONS_REQUESTED, [body], key=client)
        [deferred] = await notify.outcomes.of(body["event_id"])
        assert (deferred["status"], deferred["reason"]) == ("deferred", "quiet_hours")
        assert datetime.fromisoformat(deferred["deliver_after"]) == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
        assert not [m for m in notify.sink.sink.messages if m["to"] == phone]
        notify.clock.jump_to(datetime(2026, 11, 21, 6, 0, 1, tzinfo=UTC))
        final = await notify.outcomes.final(body["event_id"])
        assert final["status"] == "sent"
        assert len([m for m in notify.sink.sink.messages if m["to"] == phone]) == 1
    finally:
        notify.clock.jump_to(NOON_MOSCOW + timedelta(days=1))


async def _until_ledger(notify: Notify, key: str, count: int) -> None:
    async def recorded() -> bool:
        return await notify.db["consent_ledger"].count_documents({"key": key}) >= count

    await wait_for(recorded, timeout_s=30)


async def test_managers_hear_of_new_clients_handover_reminders_and_overdue_handovers(notify: Notify) -> None:
    client, phone = f"cl-{time.time_ns()}", unique_phone()
    manager, head = f"m-{time.time_ns()}", f"h-{time.time_ns()}"
    manager_email, head_email = unique_email("manager"), unique_email("head")
    await notify.register(client, phones=[(phone, "mobile")], name="Пётр Петров")
    await notify.produce.send(topics.MANAGERS_CHANGED, [
        {"event_id": f"mc-{manager}", "occurred_at": datetime.now(UTC).isoformat(), "manager_id": manager,
         "name": "Анна Кузнецова", "email": manager_email, "grade": 1, "status": "active", "capacity": 10,
         "languages": ["ru"]},
        {"event_id": f"mc-{head}", "occurred_at": datetime.now(UTC).isoformat(), "manager_id": head,
         "name": "Head", "email": head_email, "grade": 3, "status": "active", "capacity": 10, "languages": ["en"],
         "is_head": True}])

    async def known() -> bool:  # client and managers stored first; a client read late has its own test below
        return await notify.db["clients"].count_documents({"_id": client}) == 1 and \
            await notify.db["managers"].count_documents({"_id": {"$in": [manager, head]}}) == 2
    await wait_for(known, timeout_s=30)
    deadline = notify.clock() + timedelta(hours=3)
    assigned = ClientAssigned.create(source="rotation", correlation_id="c", client_id=client, manager_id=manager,
                                     reason="no_first_sale", rule_version="r1", handover_deadline=deadline)
    opened = HandoverOpened.create(source="rotation", correlation_id="c", client_id=client, manager_id=manager,
                                   deadline=deadline)
    overdue = HandoverOverdue.create(source="rotation", correlation_id="c", client_id=client, manager_id=manager,
                                     deadline=deadline, head_manager_id=head)
    await notify.produce.send(topics.CLIENTS_ASSIGNED, [assigned.model_dump(mode="json")], key=client)
    await notify.produce.send(topics.HANDOVERS_OPENED, [opened.model_dump(mode="json")], key=client)
    await notify.produce.send(topics.HANDOVERS_OVERDUE, [overdue.model_dump(mode="json")], key=client)
    for template, event, to in (("manager_new_client", assigned, manager), ("handover_reminder", opened, manager),
                                ("handover_overdue", overdue, head)):
        outcome = await notify.outcomes.final(derived_event_id("notify.alert", template, event.event_id, to))
        assert (outcome["status"], outcome["manager_id"]) == ("sent", to)
    summaries = await notify.mail.wait_for_messages(manager_email, 2)
    texts = [(await notify.mail.message(s["ID"]))["Text"] for s in summaries]
    new_client = next(t for t in texts if "Причина" in t)
    assert "Пётр Петров" in new_client and phone not in new_client and phone[-2:] in new_client
    [to_head] = await notify.mail.wait_for_messages(head_email)
    assert (await notify.mail.message(to_head["ID"]))["Subject"] == "Handover overdue: Пётр Петров"


async def test_a_hot_lead_untouched_alerts_its_owner_then_the_heads_of_sales(notify: Notify) -> None:
    client, owner, head = f"cl-{time.time_ns()}", f"m-{time.time_ns()}", f"h-{time.time_ns()}"
    owner_email, head_email = unique_email("owner"), unique_email("head")
    await notify.register(client, phones=[(unique_phone(), "mobile")], name="Олег Сидоров")
    await notify.produce.send(topics.MANAGERS_CHANGED, [
        {"event_id": f"mc-{owner}", "occurred_at": datetime.now(UTC).isoformat(), "manager_id": owner,
         "name": "Owner", "email": owner_email, "grade": 1, "status": "active", "capacity": 10, "languages": ["en"]},
        {"event_id": f"mc-{head}", "occurred_at": datetime.now(UTC).isoformat(), "manager_id": head,
         "name": "Head", "email": head_email, "grade": 3, "status": "active", "capacity": 10, "languages": ["en"],
         "is_head": True}])
    hot_at = notify.clock() - timedelta(minutes=40)
    levels = [HotLeadUntouched.create(source="rotation", correlation_id="hot", client_id=client, manager_id=owner,
                                      level=level, hot_at=hot_at, business_minutes=minutes, threshold_minutes=15,
                                      as_of=hot_at + timedelta(minutes=minutes))
              for level, minutes in ((1, 16), (2, 31))]
    await notify.produce.send(topics.CLIENTS_HOT_UNTOUCHED, [e.model_dump(mode="json") for e in levels], key=client)
    for template, event, to in (("hot_lead_owner", levels[0], owner), ("hot_lead_head", levels[1], head)):
        outcome = await notify.outcomes.final(derived_event_id("notify.alert", template, event.event_id, to))
        assert (outcome["status"], outcome["manager_id"]) == ("sent", to)
    [to_owner] = await notify.mail.wait_for_messages(owner_email)
    assert (await notify.mail.message(to_owner["ID"]))["Subject"] == "Hot lead waiting: Олег Сидоров"
    [to_head] = await notify.mail.wait_for_messages(head_email)
    text = (await notify.mail.message(to_head["ID"]))["Text"]
    assert "31 business minutes" in text and "Owner" in text
    assert len(await notify.mail.messages_to(owner_email)) == 1


async def test_an_assignment_read_before_the_clients_snapshot_still_names_the_client(notify: Notify) -> None:
    client, phone, manager = f"cl-{time.time_ns()}", unique_phone(), f"m-{time.time_ns()}"
    manager_email = unique_email("early")
    await notify.produce.send(topics.MANAGERS_CHANGED, [
        {"event_id": f"mc-{manager}", "occurred_at": datetime.now(UTC).isoformat(), "manager_id": manager,
         "name": "Мария Орлова", "email": manager_email, "grade": 1, "status": "active", "capacity": 10,
         "languages": ["ru"]}])

    async def manager_known() -> bool:
        return await notify.db["managers"].count_documents({"_id": manager}) == 1
    await wait_for(manager_known, timeout_s=30)
    assigned = ClientAssigned.create(source="rotation", correlation_id="c", client_id=client, manager_id=manager,
                                     reason="initial", rule_version="r1")
    await notify.produce.send(topics.CLIENTS_ASSIGNED, [assigned.model_dump(mode="json")], key=client)
    request_id = derived_event_id("notify.alert", "manager_new_client", assigned.event_id, manager)

    async def parked() -> bool:  # notify read the assignment and waits for the client it names
        doc = await notify.db["requests"].find_one({"_id": request_id})
        return bool(doc) and doc["status"] == "parked" and doc["subject_client_id"] == client
    await wait_for(parked, timeout_s=30)
    await notify.register(client, phones=[(phone, "mobile")], name="Семён Быстров")
    outcome = await notify.outcomes.final(request_id)
    assert (outcome["status"], outcome["manager_id"]) == ("sent", manager)
    [summary] = await notify.mail.wait_for_messages(manager_email)
    message = await notify.mail.message(summary["ID"])
    assert "Семён Быстров" in message["Subject"] and "Семён Быстров" in message["Text"]
    assert phone not in message["Text"] and phone[-2:] in message["Text"], "the contacts are shown masked"
