"""Notify's HTTP routes as ASGI apps over a recording ledger: GET changes nothing, bad tokens and signatures refused."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from clientbase.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from notify.tokens import issue
from notify.web import SmsWebhook, TokenPage

SECRET = b"k"


class Ledger:
    """Records appended entries and suppressions in memory."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.suppressed: list[tuple[Any, ...]] = []

    async def append_ledger(self, entries: list[dict[str, Any]]) -> set[str]:
        known = {e["_id"] for e in self.entries}
        self.entries += [e for e in entries if e["_id"] not in known]
        return {e["_id"] for e in entries if e["_id"] in known}

    async def suppress(self, *args: Any, **kwargs: Any) -> None:
        self.suppressed.append((*args, kwargs))


def http(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_unsubscribe_get_asks_post_applies_once() -> None:
    ledger = Ledger()
    token = issue(SECRET, "unsubscribe", "email", "a@b.example", now=time.time(), ttl_s=60)
    async with http(TokenPage("unsubscribe", lambda: ledger, SECRET)) as client:  # type: ignore[arg-type]
        page = await client.get("/", params={"t": token})
        assert page.status_code == 200 and 'method="post"' in page.text and ledger.entries == []
        for _ in range(2):
            assert (await client.post("/", params={"t": token}, content=b"List-Unsubscribe=One-Click")).status_code == 200
    [entry] = ledger.entries
    assert (entry["key"], entry["kind"], entry["source"]) == ("email:a@b.example", "revoke", "unsubscribe-link")


@pytest.mark.parametrize(("token", "status"), [
    ("garbage", 403), (issue(SECRET, "confirm", "email", "a@b.example", now=time.time(), ttl_s=60), 400),
    (issue(b"other", "unsubscribe", "email", "a@b.example", now=time.time(), ttl_s=60), 403),
    (issue(SECRET, "unsubscribe", "email", "a@b.example", now=time.time() - 100, ttl_s=60), 403),
])
async def test_bad_tokens_are_refused_and_change_nothing(token: str, status: int) -> None:
    ledger = Ledger()
    async with http(TokenPage("unsubscribe", lambda: ledger, SECRET)) as client:  # type: ignore[arg-type]
        assert (await client.post("/", params={"t": token})).status_code == status
    assert ledger.entries == []


async def test_routes_answer_503_without_their_secret() -> None:
    ledger = Ledger()
    async with http(TokenPage("confirm", lambda: ledger, None)) as client:  # type: ignore[arg-type]
        assert (await client.post("/", params={"t": "x"})).status_code == 503
    async with http(SmsWebhook("inbound", lambda: ledger, None, 300, ledger.suppress)) as client:  # type: ignore[arg-type]
        assert (await client.post("/", content=b"")).status_code == 503


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, body),
            "content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(("text", "kind"), [("СТОП", "revoke"), ("Dezabonare", "revoke"), ("отписване", "revoke"),
                                            ("START", "grant"), ("Pornire", "grant")])
async def test_sms_keywords_change_the_ledger_with_evidence(text: str, kind: str) -> None:
    ledger = Ledger()
    body = httpx.QueryParams({"From": "+79161234567", "Body": text, "MessageSid": "SM1"}).__str__().encode()
    async with http(SmsWebhook("inbound", lambda: ledger, SECRET, 300, ledger.suppress)) as client:  # type: ignore[arg-type]
        assert (await client.post("/", content=body)).status_code == 401
        answer = await client.post("/", content=body, headers=signed(body))
    assert answer.status_code == 200
    [entry] = ledger.entries
    assert (entry["key"], entry["kind"], entry["evidence"]["text"]) == ("sms:+79161234567", kind, text)


async def test_a_hard_delivery_failure_suppresses_the_number() -> None:
    ledger = Ledger()
    body = b"MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005&To=%2B79161234567"
    async with http(SmsWebhook("status", lambda: ledger, SECRET, 300, ledger.suppress)) as client:  # type: ignore[arg-type]
        assert (await client.post("/", content=body, headers=signed(body))).json() == {"action": "suppressed"}
        soft = b"MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30003&To=%2B79161234567"
        assert (await client.post("/", content=soft, headers=signed(soft))).json() == {"action": "none"}
    assert len(ledger.suppressed) == 1 and ledger.suppressed[0][1] == "+79161234567"
