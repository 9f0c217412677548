"""Configuration of the metrics service, read from the environment (prefix METRICS_)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from clientbase.segments import SegmentSettings, Windows
from clientbase.settings import ServiceSettings

from metrics.definitions import Rules


class Settings(ServiceSettings):
    """Settings of the metrics service; Kafka, MongoDB, logging and retries come from their shared prefixes."""

    model_config = SettingsConfigDict(env_prefix="METRICS_", extra="ignore")

    database: str = Field("clientbase_metrics", description="MongoDB database the metrics service owns.")
    group_id: str = Field("metrics", description="Kafka consumer group of the metrics service.")
    timezone: str = Field("UTC", description="Company time zone (IANA name) in which periods begin and end.")
    activity_window_days: int = Field(
        365, ge=1, description="Activity window W: a customer is active while its last purchase is at most this old.",
    )
    active_days: int = Field(90, ge=1, description="A customer who bought within this many days is an active customer.")
    contact_actual_days: int = Field(183, ge=1, description="A contact confirmed within this many days is actual.")
    api_token: SecretStr | None = Field(
        None, description="Bearer token of the read API; without it the service refuses to start unless "
        "METRICS_API_ALLOW_NO_TOKEN is set.",
    )
    api_allow_no_token: bool = Field(
        False, description="Local development only: serve the read API without a token when none is configured.",
    )
    rollup_interval_s: float = Field(
        10.0, ge=0, description="Shortest pause between two rewrites of the rollup documents after new events (three "
        "times the last rewrite's duration when that is longer; the read API is always computed from the latest facts).",
    )
    max_periods: int = Field(1000, ge=1, description="Most periods one read API request may ask for.")
    topic_prefix: str = Field(
        "", description="Prefix for every topic metrics reads; empty in production, set for isolated tests.",
    )

    rotation_url: str | None = Field(
        None, description="Base URL of the rotation service's HTTP API, read by the dashboard's rotation view "
        "(GET /rotation/plan); unset, the view says rotation is not reachable.",
    )
    rotation_token: SecretStr | None = Field(None, description="Bearer token for the rotation service's HTTP API.")
    rotation_timeout_s: float = Field(10.0, gt=0, description="How long the dashboard waits for the rotation plan.")
    dashboard_assets_dir: Path | None = Field(
        None, description="node_modules folder holding the dashboard's chart library; unset, the one in "
        "services/metrics/dashboard-assets, which the bootstrap fills with `npm install`.",
    )
    dashboard_session_hours: float = Field(12.0, gt=0, description="How long a dashboard login lasts.")
    dashboard_secure_cookie: bool = Field(
        False, description="Mark the dashboard's session cookie Secure (set it when the dashboard is served over HTTPS).",
    )
    segments: SegmentSettings = Field(default_factory=SegmentSettings)
    segments_pass_interval_s: float = Field(
        86400.0, gt=0, description="The segments pass (time alone ages hot signals and purchases) runs when the last "
        "one is this old; `clientbase-metrics segments-pass` runs it at once.",
    )
    segments_page_size: int = Field(500, ge=1, description="Client states the segments pass judges per round trip.")
    segments_cache_size: int = Field(
        50_000, ge=0, description="Segment states this replica keeps in memory as it last wrote them, instead of "
        "reading them again for the client's next event.",
    )
    segments_company_refresh_s: float = Field(
        60.0, gt=0, description="The company's average order (VIP rule) is summed over every client again when the "
        "last sum is this old; in between it follows this replica's own writes.",
    )

    @field_validator("timezone")
    @classmethod
    def check_timezone(cls, value: str) -> str:
        """The time zone must be a known IANA name."""
        ZoneInfo(value)
        return value

    def zone(self) -> ZoneInfo:
        """The company time zone."""
        return ZoneInfo(self.timezone)

    def assets_dir(self) -> Path:
        """Where the chart library is installed."""
        return self.dashboard_assets_dir or Path(__file__).resolve().parents[2] / "dashboard-assets" / "node_modules"
    def windows(self) -> Windows:
        """The activity windows the segments share with the figures."""
        return Windows(active=timedelta(days=self.active_days), activity=timedelta(days=self.activity_window_days))

    def rules(self) -> Rules:
        """The configurable windows of the definitions."""
        return Rules(activity_window=timedelta(days=self.activity_window_days),
                     active_window=timedelta(days=self.active_days),
                     contact_window=timedelta(days=self.contact_actual_days))
