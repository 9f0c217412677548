"""HMAC signatures of webhooks: `X-Signature: sha256=<hex>` over `<timestamp>.` and the raw body."""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "x-signature-timestamp"
SIGNATURE_HEADER = "x-signature"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at a timestamp."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_signature(secret: bytes, timestamp: str | None, signature: str | None, body: bytes, *,
                    now: float, max_skew_s: int) -> str | None:
    """Why a request is not authentic (missing, stale or bad signature), or None when it is."""
    if not timestamp or not signature:
        return "missing_signature"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "bad_timestamp"
    if abs(now - sent_at) > max_skew_s:
        return "stale_timestamp"
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.strip().encode()):
        return "bad_signature"
    return None
