"""Configuration of the rotation service, read from the environment (prefix ROTATION_)."""

from __future__ import annotations

from datetime import time

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from clientbase.segments import SegmentSettings
from clientbase.settings import KeyVaultSettings, ServiceSettings

from rotation.business_time import BusinessHours
from rotation.domain import Rules
from rotation.hot_rules import HotRules


class Settings(ServiceSettings):
    """Settings of the rotation service; Kafka, MongoDB, logging and retries come from their shared prefixes."""

    model_config = SettingsConfigDict(env_prefix="ROTATION_", extra="ignore")

    database: str = Field("clientbase_rotation", description="MongoDB database the rotation service owns.")
    group_id: str = Field("rotation", description="Kafka consumer group of the rotation service.")
    no_first_sale_days: int = Field(
        180, ge=1, description="Trigger 'no first sale': a client who never bought is rotated after more than "
        "this many days with the current owner (counted from the assignment).",
    )
    no_repeat_sale_days: int = Field(
        365, ge=1, description="Trigger 'no repeat sale': a client who bought is rotated when both the last sale "
        "and the assignment to the current owner are more than this many days old.",
    )
    handover_days: int = Field(
        14, ge=1, description="Deadline, in days from the reassignment, for the new owner's handover_report; "
        "past it the handover is escalated to the head of sales (handovers.overdue).",
    )
    no_return_window: int = Field(
        3, ge=0, description="No-return window: a client never goes back to its current owner nor to any of "
        "its last N previous owners.",
    )
    large_client_revenue: float = Field(
        1_000_000.0, ge=0, description="Grade rule: a company with at least this total revenue is a large "
        "client and may go to a manager of a higher grade.",
    )
    segments: SegmentSettings = Field(default_factory=SegmentSettings)
    large_max_grade_step: int = Field(
        1, ge=0, description="Grade rule: how many grades above the current owner's a large client may go; "
        "ordinary clients always stay in the same grade.",
    )
    rule_version: str = Field(
        "rotation-2026.1", description="Version of the rotation rules, recorded with every assignment.",
    )
    sweep_batch_size: int = Field(500, ge=1, description="Due clients the sweep checks, publishes and marks per batch.")
    topic_prefix: str = Field(
        "", description="Prefix for every topic rotation reads and writes; empty in production, set for isolated tests.",
    )
    keyvault: KeyVaultSettings = Field(default_factory=KeyVaultSettings)
    unassigned_retry_batch_size: int = Field(
        200, ge=1, description="When a roster change makes a manager available, the unassigned clients (oldest "
        "first) given first managers per round of one bulk read and one bulk write; rounds go on while all fit.",
    )

    api_token: SecretStr | None = Field(
        None, description="Tokens of rotation's HTTP API (ownership, manual reassignment, the plan preview), "
        "comma-separated, each optionally with scopes after a colon joined by `+` (e.g. `tokA:pii,tokB`). The API "
        "answers 503 while unset.",
    )
    hot_minutes: int = Field(
        15, ge=1, description="Hot leads: a hot client untouched by its owner for this many business minutes alerts "
        "the owner (clients.hot-untouched level 1); twice as many alert the head of sales (level 2).",
    )
    business_opens: time = Field(time(9, 0), description="Business hours (Monday to Friday) open, owner's local time.")
    business_closes: time = Field(time(18, 0), description="Business hours close, owner's local time.")
    timezone: str = Field("Europe/Moscow", description="Company time zone: business hours of owners whose regions "
                          "have no zone below.")
    region_timezones: dict[str, str] = Field(
        default_factory=dict, description='Zone of a manager region (JSON, e.g. {"RU-SVE": "Asia/Yekaterinburg"}).',
    )
    hot_check_interval_s: float = Field(60.0, gt=0, description="How often the service looks for untouched hot leads.")

    def hot_rules(self) -> HotRules:
        """The hot-lead rule from this configuration."""
        return HotRules(self.hot_minutes, BusinessHours(self.business_opens, self.business_closes), self.timezone,
                        {k.strip().casefold(): v for k, v in self.region_timezones.items()})

    def rules(self) -> Rules:
        """The policy's rules from this configuration."""
        return Rules(
            no_first_sale_days=self.no_first_sale_days, no_repeat_sale_days=self.no_repeat_sale_days,
            handover_days=self.handover_days, no_return_window=self.no_return_window,
            large_client_revenue=self.large_client_revenue, vip=self.segments.vip_rule(),
            large_max_grade_step=self.large_max_grade_step, rule_version=self.rule_version,
        )
