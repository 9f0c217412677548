"""Configuration of the notify service, read from the environment (prefix NOTIFY_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clientbase.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the notify service; Kafka, MongoDB, logging and retries come from their shared prefixes."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    database: str = Field("clientbase_notify", description="MongoDB database the notify service owns.")
    group_id: str = Field("notify", description="Kafka consumer group of the notify service.")
