"""Configuration of the notify service, read from the environment (prefix NOTIFY_)."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from clientbase.events.inbound import Audience
from clientbase.settings import KeyVaultSettings, ServiceSettings

from notify.domain import Policy


class Settings(ServiceSettings):
    """Settings of the notify service; Kafka, MongoDB, logging and retries come from their shared prefixes."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    database: str = Field("clientbase_notify", description="MongoDB database the notify service owns.")
    group_id: str = Field("notify", description="Kafka consumer group of the notify service.")
    topic_prefix: str = Field(
        "", description="Prefix for every topic notify reads and writes; empty in production, set for isolated tests.",
    )
    keyvault: KeyVaultSettings = Field(default_factory=KeyVaultSettings)
    delivery_log_retention_days: int = Field(
        365, ge=1, description="Days a finished request (its address, parameters and outcome: the delivery log) is "
        "kept, counted from when notify first saw it, before the retention job deletes it.",
    )
    retention_every_s: float = Field(
        86400.0, ge=0, description="How often the in-process retention job runs; 0 turns it off (run "
        "`clientbase-notify purge` from a scheduler instead).",
    )
    public_url: str = Field(
        "http://127.0.0.1:8003", description="Base URL of notify's HTTP routes as recipients reach them (links in mail).",
    )
    token_secret: SecretStr | None = Field(
        None, description="HMAC key of unsubscribe and confirmation tokens; without it marketing email, "
        "double opt-in and the /unsubscribe and /confirm routes are off (503).",
    )
    token_ttl_days: int = Field(90, ge=1, description="How long an unsubscribe or confirmation link stays valid.")
    webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key of the SMS webhooks (inbound and status); they answer 503 while it is unset.",
    )
    webhook_max_skew_s: int = Field(300, ge=1, description="Oldest (or most future) webhook timestamp accepted.")
    double_opt_in: bool = Field(True, description="Email consent from a form must be confirmed by a link first.")
    confirm_external_consents: bool = Field(
        False, description="Email grants on consents.changed need double opt-in too (they carry another system's proof).",
    )
    marketing_window_days: float = Field(7.0, gt=0, description="Marketing goes to a client/address per channel "
                                         "at most `marketing_per_window` times in this many days.")
    marketing_per_window: int = Field(1, ge=1, description="Marketing messages allowed per window.")
    dedupe_days: int = Field(30, ge=1, description="How long a dedupe_key makes later requests duplicates.")
    quiet_start: time = Field(time(21, 0), description="Start of quiet hours, recipient's local time (HH:MM[:SS]).")
    quiet_end: time = Field(time(9, 0), description="End of quiet hours, recipient's local time (HH:MM[:SS]).")
    company_timezone: str = Field("Europe/Moscow", description="Zone of last resort, and of managers.")
    country_timezones: dict[str, str] = Field(
        {"RU": "Europe/Moscow", "BG": "Europe/Sofia", "RO": "Europe/Bucharest"},
        description="Default zone per ISO country when the region and the number do not say (JSON).",
    )
    unknown_recipient_grace_s: float = Field(
        600.0, ge=0, description="How long a request for an unknown client or manager waits before it fails.",
    )
    recipient_retry_s: float = Field(
        30.0, gt=0, description="How soon a request for a client or manager notify does not know yet is tried again.",
    )
    scheduler_interval_s: float = Field(15.0, gt=0, description="How often parked requests are checked for being due.")
    send_attempts: int = Field(3, ge=1, description="Tries of a transient send failure before the request fails.")
    send_backoff_s: float = Field(1.0, ge=0, description="Pause before the second try, doubling after.")
    send_concurrency: int = Field(
        8, ge=1, description="Provider calls (SMTP sessions, SMS requests) a replica makes at once within a batch.",
    )
    send_lease_s: float = Field(
        300.0, gt=0, description="How long a send or a claimed parked request is left to its replica before the "
        "scheduler takes it over (after a crash).",
    )
    crash_window_s: float = Field(
        0.0, ge=0, description="Fault injection for crash tests: pause between a provider's acceptance and the "
        "outcome write. Keep 0.",
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server host (Mailpit on the local stack).")
    smtp_port: int = Field(1025, ge=1, description="SMTP server port.")
    smtp_tls: bool = Field(False, description="Connect with implicit TLS (SMTPS).")
    smtp_starttls: bool = Field(False, description="Upgrade the connection with STARTTLS.")
    smtp_username: str | None = Field(None, description="SMTP user; no authentication when unset.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_timeout_s: float = Field(15.0, gt=0, description="SMTP connect and command timeout.")
    mail_from: str = Field("ClientBase <no-reply@clientbase.example>", description="From header of every email.")
    message_id_domain: str = Field("clientbase.example", description="Domain of derived Message-IDs.")
    sms_providers: list[Literal["twilio", "smsru"]] = Field(
        ["twilio", "smsru"], description="SMS providers in failover order (JSON list of `twilio`, `smsru`).",
    )
    sms_from: str = Field("ClientBase", description="Sender name or number of SMS.")
    sms_timeout_s: float = Field(5.0, gt=0, description="HTTP timeout of one SMS provider call.")
    breaker_failures: int = Field(3, ge=1, description="Consecutive failures that open a provider's circuit breaker.")
    breaker_reset_s: float = Field(30.0, gt=0, description="How long an open breaker skips its provider.")
    twilio_url: str = Field("http://127.0.0.1:8026", description="Base URL of the Twilio-style Messages API "
                            "(the local SMS sink by default).")
    twilio_account_sid: str = Field("AC-local", description="Account SID of the Twilio-style provider.")
    twilio_auth_token: SecretStr | None = Field(None, description="Auth token of the Twilio-style provider.")
    smsru_url: str = Field("http://127.0.0.1:8026", description="Base URL of the SMS.ru-style API.")
    smsru_api_id: SecretStr | None = Field(None, description="api_id of the SMS.ru-style provider.")

    campaign_token: SecretStr | None = Field(
        None, description="Bearer token of POST/GET /campaigns; without it the route answers 503.",
    )
    campaign_page_size: int = Field(200, ge=1, description="Audience clients a campaign expands per round of bulk "
                                    "reads and writes.")

    birthday_audience: Audience = Field(
        default_factory=lambda: Audience(vip=True), description='Who the daily birthday campaign greets (JSON '
        'segment filter, e.g. {"vip": true}).',
    )
    birthday_template: str = Field("birthday_greeting", description="Template of the birthday greeting.")
    birthday_channel: Literal["email", "sms"] = Field("email", description="Channel of the birthday greeting.")
    birthday_interval_s: float = Field(
        3600.0, gt=0, description="How often the birthday campaign looks for clients whose local day is their "
        "birthday (each greeted once a year).",
    )

    def policy(self) -> Policy:
        """The rule configuration the pure domain needs."""
        return Policy(
            marketing_window_days=self.marketing_window_days, marketing_per_window=self.marketing_per_window,
            dedupe_days=self.dedupe_days, quiet_start=self.quiet_start, quiet_end=self.quiet_end,
            company_timezone=self.company_timezone, country_timezones=dict(self.country_timezones),
            unknown_recipient_grace_s=self.unknown_recipient_grace_s,
            recipient_retry_s=self.recipient_retry_s,
        )
