"""Subject access request: ask every service for its export of one client and put the answers in one document."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

from clientbase.api_tokens import PII_SCOPE, parse_tokens
from clientbase.events.envelope import utc_now

from intake.settings import Settings

TIMEOUT_S = 30.0


def pii_token(settings: Settings) -> str:
    """The first PRIVACY_API_TOKEN with the `pii` scope, which the export routes require."""
    for token in parse_tokens(settings.privacy.api_token):
        if PII_SCOPE in token.scopes:
            return token.secret.decode()
    raise SystemExit("PRIVACY_API_TOKEN holds no token with the `pii` scope (e.g. `s3cret:pii`)")


def fetch(url: str, token: str) -> dict[str, Any]:
    """GET one service's export (no proxy: the services are internal)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with opener.open(request, timeout=TIMEOUT_S) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return {"error": f"HTTP {error.code}", "detail": error.read().decode("utf-8", "replace")[:500]}
    except (urllib.error.URLError, OSError) as error:
        return {"error": type(error).__name__, "detail": str(error)[:500]}


async def export_client(settings: Settings, client_id: str, requested_by: str,
                        legal_basis: str | None = None) -> dict[str, Any]:
    """Every service's export of the client, asked concurrently; a service that fails says why in its entry."""
    token = pii_token(settings)
    query = urlencode({k: v for k, v in {"requested_by": requested_by, "legal_basis": legal_basis}.items() if v})
    path = f"/clients/{quote(client_id, safe='')}/export?{query}"
    names = list(settings.export_services)
    answers = await asyncio.gather(*(asyncio.to_thread(fetch, settings.export_services[n].rstrip("/") + path, token)
                                     for n in names))
    services = dict(zip(names, answers, strict=True))
    return {"client_id": client_id, "exported_at": utc_now().isoformat(), "requested_by": requested_by,
            "legal_basis": legal_basis, "complete": not any("error" in a for a in answers), "services": services}
