"""Composition root of the notify service: run with `faststream run notify.app:create_app --factory`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from faststream.asgi import AsgiFastStream
from prometheus_client import Counter

from clientbase.crypto.wiring import runtime_vault
from clientbase.erasure.export import export_route, privacy_gate
from clientbase.erasure.hashing import KeyedHasher
from clientbase.erasure.kit import ErasureKit, parse_requests
from clientbase.events.envelope import utc_now
from clientbase.json_api import JsonApi
from clientbase.kafka.publishing import PrefixedPublisher
from clientbase.kafka.reliability import Delivery
from clientbase.retention import purge, schedule
from clientbase.runtime import ServiceRuntime

from notify.breaker import CircuitBreaker
from notify.campaigns.birthdays import BirthdayGreeter
from notify.campaigns.store import CAMPAIGN_INDEXES
from notify.campaigns.web import CampaignEndpoint, publish_campaign
from notify.campaigns.wiring import CampaignParts
from notify.delivery import Deliverer, DeliveryConfig
from notify.erasure import NotifyEraser
from notify.handlers import build_router
from notify.mailer import Mailer
from notify.pipeline import Pipeline
from notify.providers import SmsGateway, SmsProvider, SmsRuStyle, TwilioStyle
from notify.repository import INDEXES, NotifyRepository
from notify.retention import retention_limits
from notify.scheduler import Scheduler
from notify.service import NotifyService
from notify.settings import Settings
from notify.templates import Templates
from notify.web import SmsWebhook, TokenPage

SERVICE = "notify"
DESCRIPTION = "Sends SMS and email only to consenting contacts, within promised frequency and quiet hours."


def _secret(value: object) -> bytes | None:
    """A SecretStr setting as bytes, or None when unset."""
    return value.get_secret_value().encode() if value is not None else None  # type: ignore[attr-defined]


def sms_gateway(settings: Settings) -> SmsGateway:
    """The SMS providers in the configured failover order, each behind its own circuit breaker."""
    known: dict[str, Callable[[], SmsProvider]] = {
        "twilio": lambda: TwilioStyle(settings.twilio_url, settings.twilio_account_sid,
                                      settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token
                                      else None),
        "smsru": lambda: SmsRuStyle(settings.smsru_url,
                                    settings.smsru_api_id.get_secret_value() if settings.smsru_api_id else None),
    }
    providers = [known[name]() for name in settings.sms_providers]
    breakers = {p.name: CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s) for p in providers}
    return SmsGateway(providers, breakers, sender=settings.sms_from, timeout_s=settings.sms_timeout_s)


class NotifyParts:
    """The notify objects that need MongoDB, built once the app has connected."""

    def __init__(self, runtime: ServiceRuntime, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.runtime, self.settings, self.clock = runtime, settings, clock
        self.gateway = sms_gateway(settings)
        self.hasher = KeyedHasher.from_settings(settings.privacy)
        self.outcomes = Counter("notify_outcomes", "Notification outcomes published, by channel, status and reason.",
                                ["channel", "status", "reason"], registry=runtime.registry)
        self._built: tuple[NotifyRepository, Deliverer, Pipeline, NotifyService] | None = None
        self.vault = runtime_vault(runtime, settings.keyvault)

    def build(self) -> tuple[NotifyRepository, Deliverer, Pipeline, NotifyService]:
        """Repository, deliverer, pipeline and use cases on the connected database (built on first use)."""
        if self._built is None:
            s = self.settings
            repo = NotifyRepository(self.runtime.db, self.runtime.reads, self.hasher)
            mailer = Mailer(host=s.smtp_host, port=s.smtp_port, sender=s.mail_from, use_tls=s.smtp_tls,
                            starttls=s.smtp_starttls, username=s.smtp_username,
                            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                            timeout_s=s.smtp_timeout_s)
            config = DeliveryConfig(public_url=s.public_url, token_secret=_secret(s.token_secret),
                                    token_ttl_s=s.token_ttl_days * 86400, message_id_domain=s.message_id_domain,
                                    attempts=s.send_attempts, backoff_s=s.send_backoff_s, lease_s=s.send_lease_s,
                                    crash_window_s=s.crash_window_s, send_concurrency=s.send_concurrency)
            deliverer = Deliverer(repo, Templates(), mailer, self.gateway, config, self.clock)
            pipeline = Pipeline(repo, self.runtime.publisher, deliverer, s.policy(), clock=self.clock,
                                topic_prefix=s.topic_prefix, counted=self._count)
            service = NotifyService(repo, pipeline, deliverer, double_opt_in=s.double_opt_in,
                                    confirm_external=s.confirm_external_consents, clock=self.clock,
                                    vault=self.vault)
            self._built = (repo, deliverer, pipeline, service)
        return self._built

    def _count(self, channel: str, status: str, reason: str | None) -> None:
        """Count one published outcome for Prometheus."""
        self.outcomes.labels(channel, status, reason or "").inc()

    def eraser(self) -> NotifyEraser:
        """Notify's eraser on the connected database."""
        return NotifyEraser(self.runtime.db, self.runtime.reads, self.hasher)

    async def erase(self, batch: Sequence[Delivery]) -> None:
        """Erase the clients a batch of requests names and report on clients.erased."""
        publisher = PrefixedPublisher(self.runtime.publisher, self.settings.topic_prefix)
        await ErasureKit(SERVICE, self.runtime.db, publisher).handle(batch, self.eraser().erase)
        self.vault.evict(r.client_id for r in parse_requests(batch) if r.client_id)

    def reset(self) -> None:
        """Forget the objects bound to a closed database."""
        self._built = None


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = utc_now) -> AsgiFastStream:
    """Build the notify app; nothing connects until it starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(SERVICE, settings, indexes=(*INDEXES, *CAMPAIGN_INDEXES))
    parts = NotifyParts(runtime, settings, clock)
    campaigns = CampaignParts(runtime, lambda: (parts.build()[0], parts.build()[2]), clock=clock,
                              topic_prefix=settings.topic_prefix, page_size=settings.campaign_page_size,
                              birthdays=lambda pipeline: BirthdayGreeter(
                                  runtime.db, pipeline, settings.policy(), audience=settings.birthday_audience,
                                  template=settings.birthday_template, channel=settings.birthday_channel, clock=clock))
    runtime.include([build_router(runtime, lambda: parts.build()[3], campaigns.service, parts.erase,
                                  prefix=settings.topic_prefix)])
    repo = lambda: parts.build()[0]  # noqa: E731 - resolved per request, after startup

    async def suppress(*args: object, **kwargs: object) -> None:
        await parts.build()[1].suppress(*args, **kwargs)  # type: ignore[arg-type]

    routes = [
        ("/unsubscribe", TokenPage("unsubscribe", repo, _secret(settings.token_secret))),
        ("/confirm", TokenPage("confirm", repo, _secret(settings.token_secret))),
        ("/webhooks/sms", SmsWebhook("inbound", repo, _secret(settings.webhook_secret), settings.webhook_max_skew_s,
                                     suppress)),
        ("/webhooks/sms-status", SmsWebhook("status", repo, _secret(settings.webhook_secret),
                                            settings.webhook_max_skew_s, suppress)),
        ("/campaigns", CampaignEndpoint(campaigns.runner, lambda c: publish_campaign(runtime.producer,
                                        settings.topic_prefix, c), _secret(settings.campaign_token))),
    ]
    gate = privacy_gate(settings.privacy)
    export = JsonApi(SERVICE, "/clients", gate, [
        export_route(SERVICE, lambda: runtime.db, lambda c: parts.eraser().collector()(c), gate)])
    app = runtime.build_app(description=DESCRIPTION, extra_routes=[*routes, *export.mounts()])
    app.on_startup(parts.vault.require)
    schedule(app, "notify-retention", lambda: purge(runtime.db, SERVICE, retention_limits(settings)),
             settings.retention_every_s)
    schedulers: list[Scheduler] = []

    @app.after_startup
    async def start_scheduler() -> None:
        repo_, _, pipeline, _ = parts.build()
        scheduler = Scheduler(repo_, pipeline, interval_s=settings.scheduler_interval_s,
                              lease_s=settings.send_lease_s, clock=clock)
        scheduler.start()
        schedulers.append(scheduler)
        await campaigns.watch(settings.scheduler_interval_s, settings.birthday_interval_s)

    @app.on_shutdown
    async def stop_scheduler() -> None:
        while schedulers:
            await schedulers.pop().stop()
        await campaigns.stop()
        parts.reset()

    return app
