"""A local SMS sink speaking the Twilio Messages API (and SMS.ru's /sms/send): keeps what it got, lists it.

`GET /messages` lists received messages, `DELETE /messages` clears them, and `POST /control` with
`{"mode": "ok" | "error" | "timeout", "delay_s": N}` makes it fail, for failover demos and tests.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

import phonenumbers

from notify.segments import segments

Scope = dict[str, Any]


class SmsSink:
    """ASGI app that accepts SMS like a provider would and remembers them."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.by_key: dict[str, dict[str, Any]] = {}
        self.mode, self.delay_s, self.calls = "ok", 30.0, 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Route one HTTP request."""
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        if path == "/messages":
            if method == "DELETE":
                self.messages.clear()
                self.by_key.clear()
            return await _send(send, 200, {"messages": self.messages, "calls": self.calls})
        if path == "/control" and method == "POST":
            data = json.loads(body or b"{}")
            self.mode, self.delay_s = data.get("mode", "ok"), float(data.get("delay_s", self.delay_s))
            return await _send(send, 200, {"mode": self.mode})
        if method == "POST" and (path.endswith("/Messages.json") or path == "/sms/send"):
            self.calls += 1
            if self.mode == "timeout":
                await asyncio.sleep(self.delay_s)
            if self.mode == "error":
                return await _send(send, 503, {"code": 20503, "message": "Service unavailable", "status": 503})
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if path == "/sms/send":
                return await self._smsru(send, form)
            return await self._twilio(send, form, headers.get("i-twilio-idempotency-token"))
        return await _send(send, 404, {"error": "not_found"})

    async def _twilio(self, send: Any, form: dict[str, str], key: str | None) -> None:
        """Twilio's Messages resource: 201 with a sid; the same idempotency token gives the same message."""
        if key and key in self.by_key:
            return await _send(send, 201, self.by_key[key])
        to = form.get("To", "")
        if not _valid(to):
            return await _send(send, 400, {"code": 21211, "message": "The 'To' number is not valid.", "status": 400})
        message = self._keep("twilio", to, form.get("From"), form.get("Body", ""), key)
        return await _send(send, 201, message)

    async def _smsru(self, send: Any, form: dict[str, str]) -> None:
        """SMS.ru's /sms/send answer with a per-number status."""
        number = form.get("to", "")
        if not _valid("+" + number):
            item = {"status": "ERROR", "status_code": 202, "status_text": "invalid number"}
        else:
            kept = self._keep("smsru", "+" + number, form.get("from"), form.get("msg", ""), None)
            item = {"status": "OK", "status_code": 100, "sms_id": kept["sid"]}
        return await _send(send, 200, {"status": "OK", "status_code": 100, "sms": {number: item}, "balance": 0})

    def _keep(self, api: str, to: str, sender: str | None, body: str, key: str | None) -> dict[str, Any]:
        """Remember one accepted message."""
        message = {"sid": "SM" + uuid.uuid4().hex, "api": api, "to": to, "from": sender, "body": body,
                   "status": "queued", "num_segments": str(segments(body)), "idempotency_key": key}
        self.messages.append(message)
        if key:
            self.by_key[key] = message
        return message


def _valid(number: str) -> bool:
    """Whether a number is a valid phone number."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


async def _send(send: Any, status: int, payload: dict[str, Any]) -> None:
    """Send a JSON response."""
    data = json.dumps(payload, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
