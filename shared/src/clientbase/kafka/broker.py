"""Builds a FastStream Kafka broker from settings, with SASL/TLS as configuration."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from clientbase.settings import KafkaSettings


def build_security(settings: KafkaSettings) -> BaseSecurity | None:
    """The FastStream security object the settings ask for, or None for plaintext."""
    use_ssl = settings.security_protocol in {"SSL", "SASL_SSL"}
    ssl_context = ssl.create_default_context(cafile=settings.ssl_cafile) if use_ssl else None
    if settings.security_protocol.startswith("SASL"):
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        username = settings.sasl_username or ""
        sasl_class = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[
            settings.sasl_mechanism or "PLAIN"
        ]
        return sasl_class(username=username, password=password, ssl_context=ssl_context)
    if use_ssl:
        return BaseSecurity(ssl_context=ssl_context)
    return None


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Connection options of a bare aiokafka client (consumer, producer, admin) from the same settings."""
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers.split(","),
                               "security_protocol": settings.security_protocol}
    if settings.security_protocol in {"SSL", "SASL_SSL"}:
        options["ssl_context"] = ssl.create_default_context(cafile=settings.ssl_cafile)
    if settings.security_protocol.startswith("SASL"):
        options.update(sasl_mechanism=settings.sasl_mechanism or "PLAIN", sasl_plain_username=settings.sasl_username,
                       sasl_plain_password=settings.sasl_password.get_secret_value() if settings.sasl_password
                       else None)
    return options


def create_broker(
    settings: KafkaSettings,
    *,
    client_id: str,
    middlewares: Sequence[Any] = (),
    logger: logging.Logger | None = None,
) -> KafkaBroker:
    """A Kafka broker for one service; it connects when the app starts, never at creation."""
    return KafkaBroker(
        settings.bootstrap_servers.split(","),
        client_id=settings.client_id or client_id,
        security=build_security(settings),
        middlewares=tuple(middlewares),
        logger=logger or logging.getLogger(f"{client_id}.kafka"),
        log_level=logging.DEBUG,
        enable_idempotence=True,
        acks="all",
    )
