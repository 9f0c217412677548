"""Intake on the real broker: two replicas in one consumer group, raw bad input, and the signed webhooks."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from faststream import TestApp
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.kafka.stores import handled_events

from intake.app import create_app
from clientbase.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

from intake_kafka import consume_all, create_intake_topics, intake_settings, new_prefix, produce
from clientbase.testing.kafka_io import wait_for
from intake_support import live_clients

pytestmark = pytest.mark.integration


def form(phone: str | None, email: str | None, name: str | None = None) -> bytes:
    fields = {k: v for k, v in {"phone": phone, "email": email, "name": name}.items() if v}
    return json.dumps({"event_id": str(uuid.uuid4()), "occurred_at": "2026-11-20T10:00:00+03:00",
                       "form_id": "contact", "fields": fields, "locale": "ru-RU"}).encode()


def call(caller: str) -> bytes:
    return json.dumps({"event_id": str(uuid.uuid4()), "occurred_at": "2026-11-21T010:15:00+03:00",
                       "call_id": f"c-{uuid.uuid4().hex[:6]}", "direction": "inbound", "caller": caller,
                       "callee": "+74951332043", "status": "answered", "default_region": "RU"}).encode()


async def test_two_replicas_in_one_group_make_exactly_one_client(stack_endpoints: Any) -> None:
    prefix = new_prefix()
    await create_intake_topics(stack_endpoints.kafka_bootstrap, prefix)
    settings = intake_settings(stack_endpoints, prefix)
    replicas = [create_app(settings), create_app(settings)]
    forms = [body for _ in range(10) for body in (
        form("8 (916) 700-00-01", "one.person@mail.ru", "Один Человек"), form("+79167000001", None),
        form(None, "ONE.PERSON@mail.ru"))]
    calls = [body for _ in range(10) for body in (call("89167000001"), call("+7 (916) 700-00-01"))]
    forms += forms[:5]  # redelivered duplicates are skipped by event id
    bad = [b"{not json", b'{"event_id": "x1", "occurred_at": "now"}']
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
    db = mongo[settings.database]
    try:
        async with TestApp(replicas[0]), TestApp(replicas[1]):
            await produce(stack_endpoints.kafka_bootstrap, prefix + topics.LEADS_FORM_SUBMITTED.name, forms + bad,
                          headers=[("content-type", b"application/json")])
            await produce(stack_endpoints.kafka_bootstrap, prefix + topics.LEADS_CALL_RECEIVED.name, calls)
            expected = 30 + 20 + 1  # distinct leads, plus the bad body that has an event id

            async def all_handled() -> bool:
                return await handled_events(db) >= expected

            await wait_for(all_handled, timeout_s=120.0)
            for replica in replicas:
                assigned = [tp for sub in replica.broker.subscribers if sub.consumer
                            for tp in sub.consumer.assignment()]
                assert assigned, "both replicas hold partitions of the group"
        clients = await live_clients(db)
        assert len(clients) == 1, "the same person through forms and calls on two replicas is one client"
        assert [p["e164"] for p in clients[0]["phones"].values()] == ["+79167000001"]
        bootstrap = stack_endpoints.kafka_bootstrap
        registrations = [json.loads(r) for r in await consume_all(bootstrap, prefix + topics.CLIENTS_REGISTERED.name)]
        registered = {r["client_id"] for r in registrations}
        merged = {json.loads(r)["merged_client_id"] for r in await consume_all(
            bootstrap, prefix + topics.CLIENTS_MERGED.name)}
        assert registered - merged == {clients[0]["_id"]}, "every other registration raced and was merged into it"
        updated = [json.loads(r) for r in await consume_all(bootstrap, prefix + topics.CLIENTS_UPDATED.name)]
        events = {e["event_id"] for e in updated + registrations}  # at-least-once: a redelivery repeats an id
        assert len(events) == 50 and {u["client_id"] for u in updated} <= registered
        rejected = await consume_all(bootstrap, prefix + topics.LEADS_REJECTED.name)
        assert sorted(json.loads(r)["reasons"][0]["code"] for r in rejected) == ["invalid_json", "schema_violation"]
        assert {bytes(q["raw"]) async for q in db["quarantine"].find({})} == set(bad)
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()


async def test_webhooks_refuse_bad_stale_and_oversize_and_publish_valid(stack_endpoints: Any) -> None:
    prefix = new_prefix()
    await create_intake_topics(stack_endpoints.kafka_bootstrap, prefix)
    secret = "test-secret"
    settings = intake_settings(stack_endpoints, prefix, webhook_secret=SecretStr(secret), max_payload_bytes=4096)
    app = create_app(settings)
    body = form("+79167000002", "hook@mail.ru", "Веб Хук")
    now = str(int(time.time()))
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
    try:
        async with TestApp(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                   base_url="http://intake") as http:
            def signed(payload: bytes, at: str) -> dict[str, str]:
                return {TIMESTAMP_HEADER: at, SIGNATURE_HEADER: sign(secret.encode(), at, payload)}

            bad = await http.post("/webhooks/forms", content=body,
                                  headers={TIMESTAMP_HEADER: now, SIGNATURE_HEADER: sign(b"wrong", now, body)})
            stale_at = str(int(time.time()) - 301)
            stale = await http.post("/webhooks/forms", content=body, headers=signed(body, stale_at))
            unsigned = await http.post("/webhooks/calls", content=body)
            huge = b"{" + b" " * 5000 + b"}"
            oversize = await http.post("/webhooks/forms", content=huge, headers=signed(huge, now))
            valid = await http.post("/webhooks/forms", content=body, headers=signed(body, now))
            wrong_method = await http.get("/webhooks/forms")
            assert [r.status_code for r in (bad, stale, unsigned, oversize, valid, wrong_method)] == [
                401, 401, 401, 413, 202, 405]
            assert (bad.json()["error"], stale.json()["error"]) == ("bad_signature", "stale_timestamp")

            published = await consume_all(stack_endpoints.kafka_bootstrap,
                                          prefix + topics.LEADS_FORM_SUBMITTED.name)
            assert published == [body], "only the valid request reached the topic, byte for byte"

            async def registered() -> bool:
                return await mongo[settings.database]["registrations"].count_documents({}) == 1

            await wait_for(registered, timeout_s=120.0)
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()
