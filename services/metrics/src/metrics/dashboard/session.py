"""Signed session cookies of the dashboard: issued after a login with the API token, checked on every page."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from pydantic import SecretStr

from clientbase.bearer import token_matches

COOKIE = "cb_dashboard"


class Sessions:
    """Issues and checks `<expiry>.<signature>` cookies keyed by the API token, so a new token ends old sessions."""

    def __init__(self, token: SecretStr | None, allow_no_token: bool, hours: float, secure: bool) -> None:
        self.token, self.allow_no_token, self.secure = token, allow_no_token, secure
        self.lifetime_s = int(hours * 3600)
        material = token.get_secret_value().encode() if token else secrets.token_bytes(32)
        self.key = hmac.new(material, b"clientbase-dashboard-session", hashlib.sha256).digest()

    def login(self, presented: str) -> bool:
        """Whether the submitted token opens a session (compared in constant time)."""
        return bool(presented) and token_matches(self.token, presented, allow_no_token=self.allow_no_token)

    def _sign(self, expiry: str) -> str:
        return hmac.new(self.key, expiry.encode(), hashlib.sha256).hexdigest()

    def issue(self, now: float | None = None) -> str:
        """A fresh cookie value valid for the configured lifetime."""
        expiry = str(int((now or time.time()) + self.lifetime_s))
        return f"{expiry}.{self._sign(expiry)}"

    def valid(self, value: str | None, now: float | None = None) -> bool:
        """Whether a cookie value is ours and not expired."""
        expiry, _, signature = (value or "").partition(".")
        if not expiry.isdigit() or not hmac.compare_digest(signature, self._sign(expiry)):
            return False
        return int(expiry) > (now or time.time())

    def set_cookie(self, value: str) -> bytes:
        """The Set-Cookie header that stores a session (HttpOnly, SameSite=Strict, dashboard paths only)."""
        secure = "; Secure" if self.secure else ""
        return f"{COOKIE}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={self.lifetime_s}{secure}".encode()

    def clear_cookie(self) -> bytes:
        """The Set-Cookie header that ends a session."""
        return f"{COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0".encode()
