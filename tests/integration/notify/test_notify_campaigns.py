"""Campaigns on the real stack: the dry run's counts equal a reference count, the real run sends one email per
eligible client with its group's template (seen in Mailpit) and suppresses the rest by reason, a rerun sends nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.events.outbound import ClientSegmented, LeadSource
from clientbase.stack.ports import free_ports
from clientbase.testing.kafka_io import wait_for

from notify.app import create_app
from notify_kit import (
    TOKEN_SECRET, Mailpit, Producer, client_registered, consent, create_notify_topics, new_prefix, notify_settings, serving,
)

pytestmark = pytest.mark.integration

TOKEN = "campaign-test-token"
SUBJECTS = {"potential_person": "Get to know us: an offer for you", "potential_company": "A proposal for your company",
            "current_person": "Thank you for shopping with us", "current_company": "For our partners: new terms"}


@dataclass(frozen=True)
class Person:
    """A generated client: segment, consent state and address."""

    client_id: str
    email: str
    kind: str
    temperature: str
    activity: str | None
    consent: str  # granted, none, revoked

    @property
    def group(self) -> str:
        return f"{'potential' if self.activity is None else 'current'}_{self.kind}"


def people(tag: str) -> list[Person]:
    """Clients over every group, temperature and consent state."""
    out = []
    shapes = [("person", "cold", None), ("company", "cold", None), ("person", "warm", "active"),
              ("company", "warm", "passive"), ("person", "hot", None), ("person", "warm", "lost")]
    for i in range(18):
        kind, temperature, activity = shapes[i % len(shapes)]
        state = ("granted", "granted", "none", "revoked")[i % 4]
        out.append(Person(f"cc{i}-{tag}", f"camp{i}.{tag}@mail.example", kind, temperature, activity, state))
    return out


def reference(clients: list[Person]) -> dict[str, Any]:
    """The campaign's counts from its filter (temperature cold or warm) and the consent states alone."""
    chosen = [p for p in clients if p.temperature in ("cold", "warm")]
    reasons = {"none": "no_consent", "revoked": "opted_out"}
    return {"groups": dict(Counter(p.group for p in chosen)), "sent": sum(p.consent == "granted" for p in chosen),
            "suppressed": dict(Counter(reasons[p.consent] for p in chosen if p.consent != "granted")),
            "chosen": chosen}


@dataclass
class Running:
    """The running notify app and what the test talks to."""

    http: str
    db: Any
    produce: Producer
    bootstrap: str
    prefix: str
    mongo_url: str


@pytest.fixture(scope="module")
async def running(stack_endpoints: Any, mail_endpoints: Any) -> AsyncIterator[Running]:
    prefix = new_prefix()
    await create_notify_topics(stack_endpoints.kafka_bootstrap, prefix)
    noon_moscow = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    offset = noon_moscow - datetime.now(UTC)
    port = free_ports(1)[0]
    settings = notify_settings(stack_endpoints, mail_endpoints, prefix, public_url=f"http://127.0.0.1:{port}",
                               double_opt_in=False, campaign_token=TOKEN, campaign_page_size=5,
                               birthday_interval_s=0.5)
    clock = lambda: datetime.now(UTC) + offset  # noqa: E731 - noon in Moscow today, running
    app = create_app(settings, clock=clock)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
    try:
        async with serving(app, port):
            yield Running(f"http://127.0.0.1:{port}", mongo[settings.database],
                          Producer(stack_endpoints.kafka_bootstrap, prefix), stack_endpoints.kafka_bootstrap, prefix,
                          stack_endpoints.mongo_url)
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()


async def completed_reports(run: Running) -> list[dict[str, Any]]:
    """Every record on the test's `campaigns.completed`."""
    consumer = AIOKafkaConsumer(run.prefix + topics.CAMPAIGNS_COMPLETED.name, bootstrap_servers=run.bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=1500)
        return [json.loads(r.value) for records in batch.values() for r in records]
    finally:
        await consumer.stop()


def segmented(p: Person, vip: bool = False) -> dict[str, Any]:
    """The `clients.segmented` event metrics would publish for the client."""
    event = ClientSegmented.create(
        source="metrics", correlation_id=str(uuid.uuid4()), client_id=p.client_id,
        segment={"temperature": p.temperature, "vip": vip, "activity": p.activity, "kind": p.kind},
        lead_source=LeadSource(channel="form"), rule_version="segments-2026.1", as_of=datetime.now(UTC))
    return event.model_dump(mode="json")


async def cli_dry_run(run: Running, campaign: dict[str, Any], folder: Path) -> dict[str, Any]:
    """`clientbase-notify campaign SPEC --dry-run` against the test's database."""
    spec = folder / "campaign.json"
    spec.write_text(json.dumps(campaign))
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": run.bootstrap, "MONGO_URL": run.mongo_url,
           "NOTIFY_DATABASE": run.db.name, "NOTIFY_TOPIC_PREFIX": run.prefix, "LOG_LEVEL": "WARNING",
           "NOTIFY_TOKEN_SECRET": TOKEN_SECRET,
           "NOTIFY_COMPANY_TIMEZONE": "UTC", "NOTIFY_QUIET_START": "00:00", "NOTIFY_QUIET_END": "00:00"}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "notify.cli", "campaign", str(spec),
                                                    "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


async def test_campaign_dry_run_real_run_and_rerun(running: Running, mail_endpoints: Any, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    clients = people(tag)
    expected = reference(clients)
    await running.produce.send(topics.CLIENTS_REGISTERED, [client_registered(
        p.client_id, emails=[p.email], locale="en-GB", name=None,
        consents=[] if p.consent == "none" else [consent("email", p.email, granted=p.consent == "granted")])
        for p in clients])  # one partition: keys do not matter
    await running.produce.send(topics.CLIENTS_SEGMENTED, [segmented(p) for p in clients])

    async def all_known() -> bool:
        return await running.db["clients"].count_documents({"snapshot": True, "segment": {"$exists": True},
                                                            "_id": {"$regex": tag}}) == len(clients)

    await wait_for(all_known, timeout_s=90)
    campaign = {"campaign_id": f"spring-{tag}", "audience": {"temperature": ["cold", "warm"]},
                "templates": {g: f"campaign_{g}" for g in SUBJECTS}, "channel": "email",
                "params": {"offer": "-15%"}}
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=running.http, headers=headers, timeout=60) as http:
        assert (await http.post("/campaigns", json=campaign, headers={"authorization": "Bearer nope"})).status_code == 401
        dry = (await http.post("/campaigns", json={**campaign, "dry_run": True})).json()
        assert {k: dry[k] for k in ("groups", "sent", "suppressed")} == {k: expected[k] for k in
                                                                          ("groups", "sent", "suppressed")}
        assert await running.db["requests"].count_documents({"client_id": {"$regex": tag}}) == 0  # nothing stored
        assert await cli_dry_run(running, campaign, tmp_path) == dry

        assert (await http.post("/campaigns", json=campaign)).status_code == 202

        async def reported() -> bool:
            return any(not r["dry_run"] for r in await completed_reports(running))

        await wait_for(reported, timeout_s=120)
        [report] = [r for r in await completed_reports(running) if not r["dry_run"]]
        assert (report["groups"], report["sent"], report["suppressed"], report["failed"]) == (
            expected["groups"], expected["sent"], expected["suppressed"], {})
        mail = Mailpit(mail_endpoints.mailpit_url)
        for p in clients:
            received = await mail.messages_to(p.email)
            if p in expected["chosen"] and p.consent == "granted":
                assert [m["Subject"] for m in received] == [SUBJECTS[p.group]]
            else:
                assert received == []
        progress = (await http.get("/campaigns", params={"id": campaign["campaign_id"]})).json()
        assert progress["status"] == "completed" and progress["pending"] == 0

        requests_before = await running.db["requests"].count_documents({})
        assert (await http.post("/campaigns", json=campaign)).status_code == 202

        async def reported_again() -> bool:
            return len([r for r in await completed_reports(running) if not r["dry_run"]]) == 2

        await wait_for(reported_again, timeout_s=60)
        again = [r for r in await completed_reports(running) if not r["dry_run"]]
        assert again[0]["event_id"] == again[1]["event_id"]
        assert await running.db["requests"].count_documents({}) == requests_before
        for p in expected["chosen"]:
            assert len(await mail.messages_to(p.email)) == (1 if p.consent == "granted" else 0)


async def test_birthdays_of_the_audience_are_greeted_once_on_the_day(running: Running, mail_endpoints: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    today = (datetime.now(UTC).replace(hour=9)).strftime("%m-%d")
    tomorrow = (datetime.now(UTC).replace(hour=9) + timedelta(days=1)).strftime("%m-%d")
    cases = {"vip-today": (True, today), "vip-tomorrow": (True, tomorrow), "plain-today": (False, today)}
    registered, segments = [], []
    for name, (vip, day) in cases.items():
        cid, email = f"{name}-{tag}", f"{name}.{tag}@mail.example"
        body = client_registered(cid, emails=[email], consents=[consent("email", email)], locale="en-GB",
                                 name="Maria")
        registered.append({**body, "birthday": f"1985-{day}" if day != "02-29" else "1984-02-29"})
        segments.append(segmented(Person(cid, email, "person", "warm", "active", "granted"), vip=vip))
    await running.produce.send(topics.CLIENTS_REGISTERED, registered)
    await running.produce.send(topics.CLIENTS_SEGMENTED, segments)
    mail = Mailpit(mail_endpoints.mailpit_url)
    [greeting] = await mail.wait_for_messages(f"vip-today.{tag}@mail.example", timeout_s=60)
    assert greeting["Subject"] == "Happy birthday, Maria!"
    await asyncio.sleep(2)  # several more rounds of the daily campaign
    assert len(await mail.messages_to(f"vip-today.{tag}@mail.example")) == 1
    for name in ("vip-tomorrow", "plain-today"):
        assert await mail.messages_to(f"{name}.{tag}@mail.example") == []
