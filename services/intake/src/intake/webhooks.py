"""Signed HTTP webhooks for lead sources that cannot speak Kafka: verify, cap, publish, answer 202.

A request carries `X-Signature-Timestamp` (Unix seconds) and `X-Signature` (`sha256=<hex>` of
HMAC-SHA256 over `<timestamp>.` followed by the raw body, keyed by `INTAKE_WEBHOOK_SECRET`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from clientbase.http import PayloadTooLarge, read_body
from clientbase.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, check_signature

from intake.settings import Settings

log = structlog.get_logger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def respond(send: Send, status: int, payload: dict[str, Any]) -> None:
    """Send a small JSON response."""
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def message_key(body: bytes) -> bytes | None:
    """Partition key for the published lead: its event id when the body has one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    event_id = data.get("event_id") if isinstance(data, dict) else None
    return event_id.encode() if isinstance(event_id, str) and event_id else None


class SignedWebhook:
    """ASGI endpoint that accepts a signed lead and publishes its raw bytes to one topic."""

    def __init__(self, topic: str, publish: Callable[..., Awaitable[Any]], settings: Settings,
                 clock: Callable[[], float] = time.time) -> None:
        self.topic = topic
        self.publish = publish
        self.secret = settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else None
        self.max_bytes = settings.max_payload_bytes
        self.max_skew_s = settings.webhook_max_skew_s
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Verify size and signature, publish, answer 202; 401, 405, 413 or 503 otherwise."""
        if scope.get("method") != "POST":
            return await respond(send, 405, {"error": "method_not_allowed"})
        if self.secret is None:
            return await respond(send, 503, {"error": "webhook_secret_not_configured"})
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await respond(send, 413, {"error": "payload_too_large", "max_bytes": self.max_bytes})
        try:
            body = await read_body(receive, self.max_bytes)
        except PayloadTooLarge:
            return await respond(send, 413, {"error": "payload_too_large", "max_bytes": self.max_bytes})
        problem = check_signature(self.secret, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body,
                                  now=self.clock(), max_skew_s=self.max_skew_s)
        if problem:
            log.warning("intake.webhook_refused", topic=self.topic, reason=problem)
            return await respond(send, 401, {"error": problem})
        await self.publish(body, self.topic, key=message_key(body), headers={"content-type": "application/json"})
        log.info("intake.webhook_accepted", topic=self.topic, size=len(body))
        return await respond(send, 202, {"status": "accepted"})
