"""Configuration of the metrics service, read from the environment (prefix METRICS_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clientbase.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the metrics service; Kafka, MongoDB, logging and retries come from their shared prefixes."""

    model_config = SettingsConfigDict(env_prefix="METRICS_", extra="ignore")

    database: str = Field("clientbase_metrics", description="MongoDB database the metrics service owns.")
    group_id: str = Field("metrics", description="Kafka consumer group of the metrics service.")
