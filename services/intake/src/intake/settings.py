"""Configuration of the intake service, read from the environment (prefix INTAKE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clientbase.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the intake service; Kafka, MongoDB, logging and retries come from their shared prefixes."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    database: str = Field("clientbase_intake", description="MongoDB database the intake service owns.")
    group_id: str = Field("intake", description="Kafka consumer group of the intake service.")
