"""Bearer-token checks and JSON answers shared by the services' raw ASGI read routes."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import SecretStr

Send = Callable[[dict[str, Any]], Awaitable[None]]


def token_matches(token: SecretStr | None, presented: str | bytes, *, allow_no_token: bool) -> bool:
    """Whether a presented token is the configured one, compared in constant time."""
    if token is None:
        return allow_no_token
    given = presented.encode() if isinstance(presented, str) else presented
    return hmac.compare_digest(given, token.get_secret_value().encode())


def bearer_authorized(scope: dict[str, Any], token: SecretStr | None, *, allow_no_token: bool) -> bool:
    """Whether the request's Authorization header carries `Bearer <token>`."""
    header = dict(scope.get("headers") or []).get(b"authorization", b"")
    scheme, _, value = header.partition(b" ")
    return token_matches(token, value if scheme == b"Bearer" else b"\0", allow_no_token=allow_no_token)


def check_token_configured(token: SecretStr | None, allow_no_token: bool, variable: str) -> None:
    """Refuse to start without a token unless the local-dev flag allows it."""
    if token is None and not allow_no_token:
        raise RuntimeError(f"{variable} is not set (set {variable.removesuffix('_TOKEN')}_ALLOW_NO_TOKEN=true "
                           "for local dev only)")


async def respond(send: Send, status: int, payload: Any, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """Send a JSON response."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


async def refuse(send: Send) -> None:
    """The 401 answer to a missing or wrong bearer token."""
    await respond(send, 401, {"detail": "missing or wrong bearer token"}, ((b"www-authenticate", b"Bearer"),))
