"""Signed, expiring tokens naming a channel and address, for unsubscribe and confirmation links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

Purpose = Literal["unsubscribe", "confirm"]


class BadToken(Exception):
    """The token is malformed, tampered with, expired or for another purpose."""


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: for which purpose, channel and address, until when."""

    purpose: Purpose
    channel: str
    address: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def issue(secret: bytes, purpose: Purpose, channel: str, address: str, *, now: float, ttl_s: int) -> str:
    """A URL-safe token `<payload>.<mac>`, valid for `ttl_s` seconds."""
    body = json.dumps({"p": purpose, "c": channel, "a": address, "e": int(now) + ttl_s}, separators=(",", ":"))
    payload = _b64(body.encode())
    return f"{payload}.{_mac(secret, payload)}"


def verify(secret: bytes, token: str, purpose: Purpose, *, now: float) -> TokenClaims:
    """The claims of a valid token for this purpose; raise BadToken otherwise."""
    payload, _, mac = (token or "").strip().partition(".")
    if not payload or not mac or not hmac.compare_digest(_mac(secret, payload).encode(), mac.encode()):
        raise BadToken("bad_signature")
    try:
        data = json.loads(_unb64(payload))
        claims = TokenClaims(data["p"], data["c"], data["a"], int(data["e"]))
    except (ValueError, KeyError, TypeError):
        raise BadToken("malformed") from None
    if claims.purpose != purpose:
        raise BadToken("wrong_purpose")
    if claims.expires < now:
        raise BadToken("expired")
    return claims
