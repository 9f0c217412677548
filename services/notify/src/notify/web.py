"""Notify's HTTP routes: one-click unsubscribe (RFC 8058), double opt-in confirmation, signed SMS webhooks."""

from __future__ import annotations

import hashlib
import html
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, quote

import structlog

from clientbase.events.envelope import utc_now
from clientbase.http import read_body
from clientbase.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, check_signature

from notify.consent import keyword_of
from notify.ledger import entry, normalize_address
from notify.repository import NotifyRepository
from notify.tokens import BadToken, verify

log = structlog.get_logger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
MAX_BODY = 65536
PERMANENT_STATUS_ERRORS = frozenset({"21211", "21612", "21614", "30005", "30006"})
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head><body>
<h1>{title}</h1><p>{text}</p>{form}</body></html>"""


async def _respond(send: Send, status: int, body: str, content_type: str = "text/html; charset=utf-8") -> None:
    """Send a small response."""
    data = body.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


async def _json(send: Send, status: int, payload: dict[str, Any]) -> None:
    """Send a small JSON response."""
    await _respond(send, status, json.dumps(payload), "application/json")


def _form(body: bytes, scope: Scope) -> dict[str, str]:
    """Query string and form body fields (the body wins)."""
    fields = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
    headers = dict(scope.get("headers", []))
    if b"json" in headers.get(b"content-type", b""):
        data = json.loads(body or b"{}")
        fields.update({k: str(v) for k, v in data.items()} if isinstance(data, dict) else {})
    else:
        fields.update({k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
    return fields


class TokenPage:
    """GET shows a page that changes nothing (mail scanners prefetch links); POST acts on a valid token."""

    def __init__(self, purpose: str, repo: Callable[[], NotifyRepository], secret: bytes | None) -> None:
        self.purpose, self.repo, self.secret = purpose, repo, secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the page or apply the token."""
        method = scope.get("method")
        if method not in ("GET", "POST"):
            return await _json(send, 405, {"error": "method_not_allowed"})
        if self.secret is None:
            return await _json(send, 503, {"error": "token_secret_not_configured"})
        try:
            fields = _form(await read_body(receive, MAX_BODY) if method == "POST" else b"", scope)
            claims = verify(self.secret, fields.get("t", ""), self.purpose, now=time.time())  # type: ignore[arg-type]
        except BadToken as problem:
            log.warning("notify.token_refused", purpose=self.purpose, reason=str(problem))
            return await _respond(send, 403 if str(problem) in ("bad_signature", "expired") else 400,
                                  PAGE.format(title="Invalid link", text="This link is invalid or expired.", form=""))
        except ValueError:
            return await _json(send, 400, {"error": "bad_request"})
        if method == "GET":
            action = "Unsubscribe" if self.purpose == "unsubscribe" else "Confirm"
            form = (f'<form method="post" action="{self.purpose}?t={quote(fields["t"])}">'
                    f'<input type="hidden" name="List-Unsubscribe" value="One-Click">'
                    f'<button type="submit">{action}</button></form>')
            return await _respond(send, 200, PAGE.format(title=action, text=html.escape(claims.channel), form=form))
        identity = hashlib.sha256(fields["t"].encode()).hexdigest()
        kind = "revoke" if self.purpose == "unsubscribe" else "confirm"
        forwarded = dict(scope.get("headers", [])).get(b"x-forwarded-for", b"").decode()
        client = forwarded.split(",")[0].strip() or (scope.get("client") or [None])[0]
        await self.repo().append_ledger([entry(claims.channel, claims.address, kind, at=utc_now(),
                                               source=f"{self.purpose}-link", identity=identity, ip=client)])
        log.info("notify.ledger_link_applied", purpose=self.purpose, channel=claims.channel)
        done = "You are unsubscribed." if kind == "revoke" else "Your address is confirmed."
        return await _respond(send, 200, PAGE.format(title="Done", text=done, form=""))


class SmsWebhook:
    """Signed provider callbacks: inbound SMS (STOP/START keywords) or delivery receipts (hard failures)."""

    def __init__(self, kind: str, repo: Callable[[], NotifyRepository], secret: bytes | None, max_skew_s: int,
                 suppress: Callable[..., Awaitable[None]]) -> None:
        self.kind, self.repo, self.secret, self.max_skew_s, self.suppress = kind, repo, secret, max_skew_s, suppress

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Verify the signature, then apply the keyword or the receipt."""
        if scope.get("method") != "POST":
            return await _json(send, 405, {"error": "method_not_allowed"})
        if self.secret is None:
            return await _json(send, 503, {"error": "webhook_secret_not_configured"})
        try:
            body = await read_body(receive, MAX_BODY)
        except ValueError:
            return await _json(send, 413, {"error": "payload_too_large"})
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = check_signature(self.secret, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body,
                                  now=time.time(), max_skew_s=self.max_skew_s)
        if problem:
            log.warning("notify.webhook_refused", kind=self.kind, reason=problem)
            return await _json(send, 401, {"error": problem})
        fields = _form(body, {**scope, "query_string": b""})
        if self.kind == "inbound":
            return await _json(send, 200, await self._inbound(fields))
        return await _json(send, 200, await self._status(fields))

    async def _inbound(self, fields: dict[str, str]) -> dict[str, Any]:
        """STOP opts the number out of SMS, START back in, each with the message as evidence."""
        keyword = keyword_of(fields.get("Body", ""))
        if keyword is None or not fields.get("From"):
            return {"action": "none"}
        number = normalize_address("sms", fields["From"])
        identity = fields.get("MessageSid") or hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
        await self.repo().append_ledger([entry("sms", number, "revoke" if keyword == "stop" else "grant",
                                               at=utc_now(), source="sms-keyword", identity=identity,
                                               text=fields.get("Body"), message_id=fields.get("MessageSid"))])
        log.info("notify.sms_keyword", keyword=keyword)
        return {"action": keyword}

    async def _status(self, fields: dict[str, str]) -> dict[str, Any]:
        """A hard delivery failure puts the number on the suppression list."""
        status, code = fields.get("MessageStatus", ""), fields.get("ErrorCode", "")
        if status in ("failed", "undelivered") and code in PERMANENT_STATUS_ERRORS and fields.get("To"):
            await self.suppress("sms", normalize_address("sms", fields["To"]), source="delivery-receipt",
                                detail=f"{status}:{code}", request_id=None)
            return {"action": "suppressed"}
        return {"action": "none"}
