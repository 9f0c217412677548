"""Settings pieces every service nests: Kafka, MongoDB, logging and consumer reliability."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """How to reach the Kafka cluster; SASL and TLS are configuration, not code."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field("127.0.0.1:9092", description="Comma-separated host:port list.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism when the protocol is SASL_*."
    )
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(None, description="SASL password.")
    ssl_cafile: str | None = Field(None, description="CA bundle for TLS connections.")
    client_id: str | None = Field(None, description="Client id sent to the broker; the service name when unset.")


class MongoSettings(BaseSettings):
    """How to reach MongoDB (or FerretDB); auth and TLS go in the URL."""

    model_config = SettingsConfigDict(env_prefix="MONGO_", extra="ignore")

    url: SecretStr = Field(SecretStr("mongodb://127.0.0.1:27017/"), description="MongoDB connection string.")
    server_selection_timeout_ms: int = Field(5000, description="How long to wait for a reachable server.")
    read_strategy: Literal["auto", "in", "point"] = Field(
        "auto", description="Bulk reads by key: `in` (one `$in` query, MongoDB), `point` (concurrent equality "
        "lookups, FerretDB v1, which never pushes `$in` down) or `auto` (asks the server which it is).",
    )
    max_pool_size: int = Field(64, ge=1, description="Most connections the client opens to the server.")


class ReliabilitySettings(BaseSettings):
    """Retry, backoff and dead-letter behaviour of every Kafka consumer."""

    model_config = SettingsConfigDict(env_prefix="CONSUMER_", extra="ignore")

    max_attempts: int = Field(5, ge=1, description="Deliveries of one message before it goes to <topic>.dlq.")
    backoff_initial_s: float = Field(0.2, ge=0, description="Pause before the first redelivery.")
    backoff_max_s: float = Field(5.0, ge=0, description="Longest pause between redeliveries.")
    batch_max_records: int = Field(500, ge=1, description="Most records one poll hands to a batch handler.")
    batch_timeout_ms: int = Field(100, ge=1, description="How long a poll waits for records before handling fewer.")
    max_poll_interval_ms: int = Field(
        900_000, ge=10_000,
        description="Longest pause between polls before the broker evicts the consumer; far above a batch's worst "
        "case (batch size x slowest database round trip), so a slow database slows the service but never "
        "triggers a rebalance.",
    )
    session_timeout_ms: int = Field(
        30_000, ge=6_000, description="Heartbeat silence after which the broker evicts the consumer (heartbeats run "
        "in the background, independent of batch handling).",
    )
    heartbeat_interval_ms: int = Field(3_000, ge=500, description="How often the consumer sends heartbeats.")
    fault_handler_delay_ms: int = Field(
        0, ge=0, validation_alias=AliasChoices("CLIENTBASE_FAULT_HANDLER_DELAY_MS", "fault_handler_delay_ms"),
        description="Test hook, off by default: a pause before every batch, to play a handler slower than usual.",
    )


class KeyVaultSettings(BaseSettings):
    """Where the per-client data keys of sealed personal fields live, and the master key that wraps them."""

    model_config = SettingsConfigDict(env_prefix="KEYVAULT_", extra="ignore")

    database: str = Field("clientbase_keyvault", description="MongoDB database of the key vault: intake writes it, "
                          "rotation and notify only read it.")
    master_key: SecretStr | None = Field(None, description="Secret the key-encryption key is derived from; intake, "
                                         "rotation and notify refuse to start without it.")
    cache_ttl_s: float = Field(300.0, ge=0, description="How long a process keeps a looked-up data key in memory.")


class LoggingSettings(BaseSettings):
    """Log level and format."""

    model_config = SettingsConfigDict(env_prefix="LOG_", extra="ignore")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Lowest level logged.")
    format: Literal["auto", "json", "console"] = Field("auto", description="auto: console on a TTY, JSON otherwise.")


class PrivacySettings(BaseSettings):
    """Keys of the personal-data routes and of erasure's keyed hashes, the same in every service."""

    model_config = SettingsConfigDict(env_prefix="PRIVACY_", extra="ignore")

    hash_key: SecretStr | None = Field(
        None, description="HMAC key that turns an erased client's identity claims and opted-out addresses into "
        "keyed hashes (so they cannot be recovered by enumerating phone numbers); erasure fails while it is unset.",
    )
    api_token: SecretStr | None = Field(
        None, description="Tokens of the personal-data routes (export, erasure requests, audit), comma-separated, "
        "each with scopes after a colon joined by `+`; export and erasure need the `pii` scope. Unset: they answer 503.",
    )


class ServiceSettings(BaseSettings):
    """Base of each service's settings: shared infrastructure pieces plus the service's own database."""

    model_config = SettingsConfigDict(extra="ignore")

    database: str = Field(description="MongoDB database this service owns.")
    group_id: str = Field(description="Kafka consumer group of this service.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    mongo: MongoSettings = Field(default_factory=MongoSettings)
    reliability: ReliabilitySettings = Field(default_factory=ReliabilitySettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
