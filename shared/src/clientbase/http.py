"""Health, readiness and Prometheus endpoints every service exposes over ASGI, and a capped body reader."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.asgi import AsgiResponse, get
from faststream.asgi.handlers import GetHandler
from faststream.asgi.response import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

ReadinessCheck = Callable[[], Awaitable[bool]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class PayloadTooLarge(ValueError):
    """The request body is larger than the configured cap."""


async def read_body(receive: Receive, max_bytes: int) -> bytes:
    """Read an ASGI request body, giving up as soon as it exceeds the cap."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def make_health_route() -> GetHandler:
    """Liveness: the process is up and serving HTTP."""

    @get(include_in_schema=False)
    async def health(scope: Any) -> AsgiResponse:
        return JSONResponse({"status": "ok"})

    return health


def make_ready_route(checks: dict[str, ReadinessCheck], timeout_s: float = 3.0) -> GetHandler:
    """Readiness: every dependency (Kafka, MongoDB) answers; 503 with the failing ones otherwise."""

    async def run_check(check: ReadinessCheck) -> bool:
        try:
            return bool(await asyncio.wait_for(check(), timeout_s))
        except Exception:  # noqa: BLE001 - an unreachable dependency is simply not ready
            return False

    @get(include_in_schema=False)
    async def ready(scope: Any) -> AsgiResponse:
        names = list(checks)
        results = await asyncio.gather(*(run_check(checks[name]) for name in names))
        report = dict(zip(names, results, strict=True))
        return JSONResponse({"ready": all(results), "checks": report}, 200 if all(results) else 503)

    return ready


def make_metrics_route(registry: CollectorRegistry) -> GetHandler:
    """Prometheus text exposition of the service's registry."""

    @get(include_in_schema=False)
    async def metrics(scope: Any) -> AsgiResponse:
        return AsgiResponse(generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST})

    return metrics
