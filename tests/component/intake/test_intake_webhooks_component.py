"""The signed webhook endpoint as an ASGI app with a recording publisher: every refusal and the happy path."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from intake.settings import Settings
from clientbase.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, check_signature, sign
from intake.webhooks import SignedWebhook

NOW = 1_800_000_000
SECRET = b"s3cret"


class Published:
    """Records what the webhook published."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, str, dict[str, Any]]] = []

    async def __call__(self, body: bytes, topic: str, **kwargs: Any) -> None:
        self.calls.append((body, topic, kwargs))


def client(secret: str | None = SECRET.decode(), max_bytes: int = 1024) -> tuple[httpx.AsyncClient, Published]:
    published = Published()
    settings = Settings(webhook_secret=SecretStr(secret) if secret else None, max_payload_bytes=max_bytes)
    endpoint = SignedWebhook("leads.form-submitted", published, settings, clock=lambda: NOW)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=endpoint), base_url="http://t"), published


def headers(body: bytes, at: int = NOW, secret: bytes = SECRET) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(at), SIGNATURE_HEADER: sign(secret, str(at), body)}


BODY = json.dumps({"event_id": "e-1", "fields": {}}).encode()


@pytest.mark.parametrize(("extra", "error"), [
    ({}, "missing_signature"),
    (headers(BODY, secret=b"other"), "bad_signature"),
    (headers(BODY, at=NOW - 301), "stale_timestamp"),
    (headers(BODY, at=NOW + 301), "stale_timestamp"),
    ({TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "sha256=00"}, "bad_timestamp"),
    (headers(BODY + b" "), "bad_signature"),
])
async def test_unauthentic_requests_get_401_and_publish_nothing(extra: dict[str, str], error: str) -> None:
    http, published = client()
    async with http:
        response = await http.post("/", content=BODY, headers=extra)
    assert (response.status_code, response.json()["error"]) == (401, error)
    assert published.calls == []


async def test_oversize_body_is_refused_before_reading_or_while_streaming() -> None:
    http, published = client(max_bytes=1024)
    big = b"x" * 2048

    async def stream() -> Any:
        for _ in range(4):
            yield b"x" * 512

    async with http:
        declared = await http.post("/", content=big, headers=headers(big))
        streamed = await http.post("/", content=stream(), headers={TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "x"})
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert published.calls == []


async def test_valid_request_is_published_raw_and_answered_202() -> None:
    http, published = client()
    async with http:
        response = await http.post("/", content=BODY, headers=headers(BODY, at=NOW - 299))
    assert response.status_code == 202
    assert published.calls == [(BODY, "leads.form-submitted",
                                {"key": b"e-1", "headers": {"content-type": "application/json"}})]


async def test_without_a_secret_the_webhook_is_unavailable_and_only_post_is_allowed() -> None:
    http, _ = client(secret=None)
    async with http:
        assert (await http.post("/", content=BODY, headers=headers(BODY))).status_code == 503
    http, _ = client()
    async with http:
        assert (await http.get("/")).status_code == 405


def test_signature_is_compared_over_timestamp_and_body() -> None:
    good = sign(SECRET, "100", b"{}")
    assert check_signature(SECRET, "100", good, b"{}", now=100, max_skew_s=300) is None
    assert check_signature(SECRET, "101", good, b"{}", now=100, max_skew_s=300) == "bad_signature"
