"""The lookup API on the real stack: a lead sent through a form is found by its phone and email, merges answer
with their survivor, and a token without the `pii` scope sees masked contact points."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from faststream import TestApp
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.testing.kafka_io import wait_for

from intake.app import create_app
from intake_kafka import create_intake_topics, intake_settings, new_prefix, produce

pytestmark = pytest.mark.integration

FULL, MASKED = "lookup-full-token", "lookup-masked-token"


def form(minute: int, **fields: str) -> bytes:
    """A contact form sent at 10:<minute> (client ids sort by the time of their first lead)."""
    return json.dumps({"event_id": str(uuid.uuid4()), "occurred_at": f"2026-11-20T10:{minute:02d}:00+03:00",
                       "form_id": "contact", "fields": fields, "locale": "ru-RU"}).encode()


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


async def test_lookup_by_phone_and_email_follows_merges_and_masks_without_pii(stack_endpoints: Any) -> None:
    prefix = new_prefix()
    await create_intake_topics(stack_endpoints.kafka_bootstrap, prefix)
    settings = intake_settings(stack_endpoints, prefix, api_token=SecretStr(f"{FULL}:pii,{MASKED}"))
    app = create_app(settings)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
    topic = prefix + topics.LEADS_FORM_SUBMITTED.name
    try:
        async with TestApp(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                   base_url="http://intake") as http:
            async def found(**query: str) -> httpx.Response:
                return await http.get("/clients", params=query, headers=bearer(FULL))

            await produce(stack_endpoints.kafka_bootstrap, topic, [
                form(1, name="Иван Петров", phone="+7 912 345-67-89", email="Ivan.Petrov@Mail.RU")])

            async def registered() -> bool:
                return (await found(phone="89123456789")).status_code == 200

            await wait_for(registered, timeout_s=120.0)
            answers = [await found(phone=p) for p in ("8 (912) 345-67-89", "+7 912 345 6789", "9123456789")]
            answers.append(await found(email=" ivan.petrov@mail.ru "))
            ids = {a.json()["client_id"] for a in answers}
            assert [a.status_code for a in answers] == [200] * 4 and len(ids) == 1
            client_id = ids.pop()
            full = answers[0].json()["client"]
            assert [p["e164"] for p in full["phones"]] == ["+79123456789"]
            assert [e["address"] for e in full["emails"]] == ["ivan.petrov@mail.ru"]

            masked = (await http.get("/clients", params={"phone": "89123456789"}, headers=bearer(MASKED))).json()
            assert masked["client_id"] == client_id
            assert masked["client"]["phones"][0]["e164"] == "+79*******89"
            assert masked["client"]["emails"][0]["address"] == "i***@mail.ru"
            assert masked["client"]["name"] == "И. П."
            assert "+79123456789" not in json.dumps(masked) and "ivan.petrov" not in json.dumps(masked)

            # a second person, then a lead carrying both persons' contact points: the two records merge
            await produce(stack_endpoints.kafka_bootstrap, topic, [form(5, name="Иван Петров", email="ip@work.ru")])

            async def second() -> bool:
                return (await found(email="ip@work.ru")).status_code == 200

            await wait_for(second, timeout_s=120.0)
            later_id = (await found(email="ip@work.ru")).json()["client_id"]
            assert later_id != client_id
            await produce(stack_endpoints.kafka_bootstrap, topic, [
                form(9, name="Иван Петров", phone="89123456789", email="ip@work.ru")])

            async def merged() -> bool:
                return (await found(email="ip@work.ru")).json()["client_id"] == client_id

            await wait_for(merged, timeout_s=120.0)
            old = await http.get(f"/clients/{later_id}", headers=bearer(FULL))
            assert old.status_code == 200
            assert (old.json()["client_id"], old.json()["requested_client_id"], old.json()["merged"]) == (
                client_id, later_id, True)
            assert {e["address"] for e in old.json()["client"]["emails"]} == {"ivan.petrov@mail.ru", "ip@work.ru"}

            unknown = await found(phone="+7 999 000-00-01")
            anonymous = await http.get("/clients", params={"phone": "89123456789"})
            wrong = await http.get(f"/clients/{client_id}", headers=bearer("nope"))
            invalid = await found(phone="12")
            spec = await http.get("/clients/openapi.json")
            assert [r.status_code for r in (unknown, anonymous, wrong, invalid, spec)] == [404, 401, 401, 422, 200]
            assert invalid.json()["error"] == "invalid_phone"
            assert set(spec.json()["paths"]) == {"/clients", "/clients/{client_id}", "/clients/erasure-requests",
                                                 "/clients/{client_id}/export", "/clients/{client_id}/audit"}
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()
