"""Reads what the next rotation sweep would move from the rotation service's HTTP API."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import structlog

from metrics.settings import Settings

log = structlog.get_logger(__name__)


class RotationUnreachable(Exception):
    """Rotation is not configured, down, or refused the request."""


async def fetch_plan(settings: Settings, as_of: date) -> dict[str, Any]:
    """GET /rotation/plan?as_of= with the configured token; RotationUnreachable on any failure."""
    if not settings.rotation_url:
        raise RotationUnreachable("METRICS_ROTATION_URL is not set")
    headers = {"authorization": f"Bearer {settings.rotation_token.get_secret_value()}"} \
        if settings.rotation_token else {}
    try:
        async with httpx.AsyncClient(base_url=settings.rotation_url, timeout=settings.rotation_timeout_s) as client:
            response = await client.get("/rotation/plan", params={"as_of": as_of.isoformat()}, headers=headers)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as error:
        log.warning("metrics.rotation_plan_unreachable", error=type(error).__name__)
        raise RotationUnreachable(str(error)) from error
