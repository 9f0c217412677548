"""Composition root of the notify service: run with `faststream run notify.app:create_app --factory`."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from clientbase.runtime import ServiceRuntime

from notify.handlers import build_router
from notify.repository import INDEXES
from notify.settings import Settings

SERVICE = "notify"


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """Build the notify app; nothing connects until it starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(SERVICE, settings, indexes=INDEXES)
    runtime.include([build_router(runtime)])
    return runtime.build_app(description="Sends SMS and email only to consenting contacts, within promised frequency and quiet hours.")
