"""Configuration of the intake service, read from the environment (prefix INTAKE_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from clientbase.settings import KeyVaultSettings, ServiceSettings

from intake.domain import IntakePolicy


class Settings(ServiceSettings):
    """Settings of the intake service; Kafka, MongoDB, logging and retries come from their shared prefixes."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    database: str = Field("clientbase_intake", description="MongoDB database the intake service owns.")
    group_id: str = Field("intake", description="Kafka consumer group of the intake service.")
    default_region: str | None = Field(
        "RU", min_length=2, max_length=2,
        description="ISO country for numbers without a country code when neither the form locale nor the call says.",
    )
    honeypot_fields: list[str] = Field(["website"], description="Form fields hidden from people; filled means a bot.")
    callback_form_ids: list[str] = Field(["callback"], description="Form ids whose submissions request a callback.")
    max_payload_bytes: int = Field(65536, ge=1024, description="Largest lead accepted, from Kafka or a webhook.")
    webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key of the webhooks; webhooks answer 503 while it is unset.",
    )
    api_token: SecretStr | None = Field(
        None, description="Tokens of the lookup API, comma-separated, each optionally with scopes after a colon "
        "joined by `+` (e.g. `tokA:pii,tokB`); `pii` shows contact points in full. The API answers 503 while unset.",
    )
    webhook_max_skew_s: int = Field(300, ge=1, description="Oldest (or most future) webhook timestamp accepted.")
    export_services: dict[str, str] = Field(
        {"intake": "http://127.0.0.1:8001", "rotation": "http://127.0.0.1:8002", "notify": "http://127.0.0.1:8003",
         "metrics": "http://127.0.0.1:8004"},
        description="Base URL of every service that `clientbase-intake export` asks (JSON: name to URL); each is "
        "called with a `pii` token of PRIVACY_API_TOKEN.",
    )
    topic_prefix: str = Field(
        "", description="Prefix for every topic intake reads and writes; empty in production, set for isolated tests.",
    )
    keyvault: KeyVaultSettings = Field(default_factory=KeyVaultSettings)
    quarantine_retention_days: int = Field(
        90, ge=1, description="Days a rejected input's raw bytes stay in quarantine before the retention job deletes "
        "them (released or not).",
    )
    retention_every_s: float = Field(
        86400.0, ge=0, description="How often the in-process retention job runs; 0 turns it off (run "
        "`clientbase-intake purge` from a scheduler instead).",
    )

    def policy(self) -> IntakePolicy:
        """The rule configuration the pure domain needs."""
        return IntakePolicy(
            default_region=self.default_region.upper() if self.default_region else None,
            honeypot_fields=tuple(self.honeypot_fields),
            callback_form_ids=tuple(self.callback_form_ids),
        )
