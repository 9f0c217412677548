"""Composition root of the metrics service: run with `faststream run metrics.app:create_app --factory`."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from clientbase.runtime import ServiceRuntime

from metrics.handlers import build_router
from metrics.repository import INDEXES
from metrics.settings import Settings

SERVICE = "metrics"


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """Build the metrics app; nothing connects until it starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(SERVICE, settings, indexes=INDEXES)
    runtime.include([build_router(runtime)])
    return runtime.build_app(description="Aggregates retention figures into MongoDB for dashboards.")
