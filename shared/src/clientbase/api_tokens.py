"""Bearer tokens with scopes for a service's HTTP API, compared in constant time.

A service's token setting (e.g. `INTAKE_API_TOKEN`) holds one or more tokens separated by commas, each
optionally followed by its scopes after a colon, joined by `+`: `s3cret:pii,readonly-token`. A token with the
`pii` scope sees contact points (phones, emails, names) in full; every other token sees them masked.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import SecretStr

PII_SCOPE = "pii"
BEARER = b"bearer "


@dataclass(frozen=True)
class Caller:
    """Who called: a fingerprint of the token (safe to log) and its scopes."""

    token_id: str
    scopes: frozenset[str]

    @property
    def sees_pii(self) -> bool:
        """Whether answers may show contact points in full."""
        return PII_SCOPE in self.scopes


@dataclass(frozen=True)
class ApiToken:
    """One configured token and the scopes it grants."""

    secret: bytes
    scopes: frozenset[str]

    @property
    def token_id(self) -> str:
        """A short fingerprint that names the token in logs without revealing it."""
        return hashlib.sha256(self.secret).hexdigest()[:10]


def parse_tokens(value: SecretStr | str | None) -> tuple[ApiToken, ...]:
    """The tokens of a setting such as `tokA:pii,tokB`; an empty or missing setting gives none."""
    text = value.get_secret_value() if isinstance(value, SecretStr) else (value or "")
    tokens = []
    for item in text.split(","):
        secret, _, scopes = item.strip().partition(":")
        if secret:
            tokens.append(ApiToken(secret.encode(), frozenset(s.strip() for s in scopes.split("+") if s.strip())))
    return tuple(tokens)


def bearer_of(headers: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    """The bearer token of an ASGI request's Authorization header, or None."""
    for name, value in headers:
        if name.lower() == b"authorization" and value[:len(BEARER)].lower() == BEARER:
            return value[len(BEARER):].strip()
    return None


class TokenGate:
    """Decides who a request's bearer token belongs to, comparing against every configured token."""

    def __init__(self, setting_name: str, value: SecretStr | str | None) -> None:
        self.setting_name = setting_name
        self.tokens = parse_tokens(value)

    @property
    def configured(self) -> bool:
        """Whether any token is set (an API without tokens answers 503)."""
        return bool(self.tokens)

    def caller(self, headers: Iterable[tuple[bytes, bytes]]) -> Caller | None:
        """The caller of a request, or None when its token is missing or unknown."""
        presented = bearer_of(headers)
        if presented is None:
            return None
        found: ApiToken | None = None
        for token in self.tokens:  # every token is compared, so timing does not tell which one nearly matched
            if hmac.compare_digest(presented, token.secret) and found is None:
                found = token
        return Caller(found.token_id, found.scopes) if found else None
