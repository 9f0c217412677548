"""Composition root of the intake service: run with `faststream run intake.app:create_app --factory`."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from clientbase import topics
from clientbase.crypto.outbox import SealingPublisher
from clientbase.crypto.vault import KeyVault
from clientbase.crypto.wiring import runtime_vault
from clientbase.retention import purge, schedule
from clientbase.runtime import ServiceRuntime

from clientbase.erasure.hashing import KeyedHasher
from clientbase.kafka.publishing import PrefixedPublisher

from intake.audit import AUDIT_INDEXES
from intake.erasure import ClientKeys, IntakeEraser
from intake.handlers import build_router
from intake.lookup import lookup_api
from intake.privacy import IntakePrivacy
from intake.privacy_api import PrivacyRoutes
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


def build_privacy(runtime: ServiceRuntime, settings: Settings, keys: ClientKeys | None = None) -> IntakePrivacy:
    """Intake's erasure and audit use cases; `keys` forgets the per-client keys of encrypted event fields."""
    repo = IntakeRepository(runtime.db, reads=runtime.reads)
    eraser = IntakeEraser(repo, KeyedHasher.from_settings(settings.privacy), keys)
    return IntakePrivacy(repo, eraser, PrefixedPublisher(runtime.publisher, settings.topic_prefix),
                         runtime.producer.publish, default_region=settings.policy().default_region,
                         topic_prefix=settings.topic_prefix)


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """Build the intake app; nothing connects until it starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(SERVICE, settings, indexes=(*INDEXES, *AUDIT_INDEXES))
    vault = runtime_vault(runtime, settings.keyvault)
    runtime.include([build_router(runtime, lambda: build_service(runtime, settings, vault), prefix=settings.topic_prefix,
                                  privacy=lambda: build_privacy(runtime, settings, keys=vault))])
    webhooks = [
        (path, SignedWebhook(settings.topic_prefix + topic.name, runtime.producer.publish, settings))
        for path, topic in (("/webhooks/forms", topics.LEADS_FORM_SUBMITTED),
                            ("/webhooks/calls", topics.LEADS_CALL_RECEIVED))
    ]
    repository = lambda: IntakeRepository(runtime.db, reads=runtime.reads)  # noqa: E731 - per request, after startup
    privacy_routes = PrivacyRoutes(settings, repository, runtime.producer.publish).routes()
    lookup = lookup_api(settings, repository, extra_routes=privacy_routes)
    app = runtime.build_app(
        description="Normalizes leads from web forms and calls into one clean client record each.",
        extra_routes=[*webhooks, *lookup.mounts()],
    )
    app.on_startup(vault.require)
    schedule(app, "intake-retention", lambda: purge(runtime.db, SERVICE, retention_limits(settings)),
             settings.retention_every_s)
    return app
