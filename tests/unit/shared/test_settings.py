"""Services read their configuration from the environment with their own prefixes."""

from __future__ import annotations

import pytest

from intake.settings import Settings as IntakeSettings
from metrics.settings import Settings as MetricsSettings
from notify.settings import Settings as NotifySettings
from rotation.settings import Settings as RotationSettings

from clientbase.kafka.broker import build_security
from clientbase.settings import ReliabilitySettings
from clientbase.settings_doc import env_vars


@pytest.mark.parametrize(("settings_class", "prefix"), [
    (IntakeSettings, "INTAKE_"), (RotationSettings, "ROTATION_"), (NotifySettings, "NOTIFY_"),
    (MetricsSettings, "METRICS_"),
])
def test_service_settings_come_from_environment(monkeypatch, settings_class, prefix) -> None:
    monkeypatch.setenv(f"{prefix}DATABASE", "custom_db")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("MONGO_URL", "mongodb://db.example:27017/")
    monkeypatch.setenv("CONSUMER_MAX_ATTEMPTS", "7")
    settings = settings_class()
    assert settings.database == "custom_db"
    assert settings.kafka.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert settings.mongo.url.get_secret_value() == "mongodb://db.example:27017/"
    assert settings.reliability.max_attempts == 7
    assert "db.example" not in repr(settings)


def test_sasl_and_tls_are_configuration(monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "secret")
    security = build_security(IntakeSettings().kafka)
    assert type(security).__name__ == "SASLScram512"
    assert security.use_ssl


def test_the_slow_handler_hook_is_off_by_default_and_read_from_its_own_variable(monkeypatch) -> None:
    assert ReliabilitySettings().fault_handler_delay_ms == 0
    monkeypatch.setenv("CLIENTBASE_FAULT_HANDLER_DELAY_MS", "250")
    assert ReliabilitySettings().fault_handler_delay_ms == 250
    assert "CLIENTBASE_FAULT_HANDLER_DELAY_MS" in {v.name for v in env_vars(ReliabilitySettings)}
