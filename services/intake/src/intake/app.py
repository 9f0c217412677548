"""Composition root of the intake service: run with `faststream run intake.app:create_app --factory`."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from clientbase.runtime import ServiceRuntime

from intake.handlers import build_router
from intake.repository import INDEXES
from intake.settings import Settings

SERVICE = "intake"


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """Build the intake app; nothing connects until it starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(SERVICE, settings, indexes=INDEXES)
    runtime.include([build_router(runtime)])
    return runtime.build_app(description="Normalizes leads from web forms and calls into one clean client record each.")
