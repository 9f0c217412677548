"""Composition root of the intake service: run with `faststream run intake.app:create_app --factory`."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from clientbase import topics
from clientbase.crypto.outbox import SealingPublisher
from clientbase.crypto.vault import KeyVault
from clientbase.crypto.wiring import runtime_vault
from clientbase.retention import purge, schedule
from clientbase.runtime import ServiceRuntime

from intake.handlers import build_router
from intake.lookup import lookup_api
from intake.repository import INDEXES, IntakeRepository
from intake.retention import retention_limits
from intake.service import IntakeService
from intake.settings import Settings
from intake.webhooks import SignedWebhook

SERVICE = "intake"


def build_service(runtime: ServiceRuntime, settings: Settings, vault: KeyVault) -> IntakeService:
    """The intake use cases on the runtime's database and a publisher that seals personal fields (app running)."""
    return IntakeService(IntakeRepository(runtime.db, reads=runtime.reads), SealingPublisher(runtime.publisher, vault),
                         settings.policy(), max_payload_bytes=settings.max_payload_bytes,
                         topic_prefix=settings.topic_prefix)


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """Build the intake app; nothing connects until it starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(SERVICE, settings, indexes=INDEXES)
    vault = runtime_vault(runtime, settings.keyvault)
    runtime.include([build_router(runtime, lambda: build_service(runtime, settings, vault),
                                  prefix=settings.topic_prefix)])
    webhooks = [
        (path, SignedWebhook(settings.topic_prefix + topic.name, runtime.broker.publish, settings))
        for path, topic in (("/webhooks/forms", topics.LEADS_FORM_SUBMITTED),
                            ("/webhooks/calls", topics.LEADS_CALL_RECEIVED))
    ]
    lookup = lookup_api(settings, lambda: IntakeRepository(runtime.db, reads=runtime.reads))
    app = runtime.build_app(
        description="Normalizes leads from web forms and calls into one clean client record each.",
        extra_routes=[*webhooks, *lookup.mounts()],
    )
    app.on_startup(vault.require)
    schedule(app, "intake-retention", lambda: purge(runtime.db, SERVICE, retention_limits(settings)),
             settings.retention_every_s)
    return app
