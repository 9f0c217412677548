"""Configuration of the rotation service, read from the environment (prefix ROTATION_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clientbase.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the rotation service; Kafka, MongoDB, logging and retries come from their shared prefixes."""

    model_config = SettingsConfigDict(env_prefix="ROTATION_", extra="ignore")

    database: str = Field("clientbase_rotation", description="MongoDB database the rotation service owns.")
    group_id: str = Field("rotation", description="Kafka consumer group of the rotation service.")
