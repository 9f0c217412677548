"""docker-compose.yml runs the same system: checked against the settings classes, since no Docker runs here."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from clientbase.settings_doc import env_vars

REPO = Path(__file__).resolve().parents[3]
SERVICES = ("intake", "rotation", "notify", "metrics")
SHARED_ENV_PREFIXES = ("KAFKA_", "MONGO_", "CONSUMER_", "LOG_")


@pytest.fixture(scope="module")
def compose() -> dict:
    """The parsed compose file, anchors and merge keys resolved."""
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def settings_class(service: str) -> type:
    """The service's settings class."""
    return importlib.import_module(f"{service}.settings").Settings


def test_infrastructure_uses_the_official_images(compose: dict) -> None:
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["mongo"]["image"].startswith("mongo:8")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    for name in ("kafka", "mongo"):
        assert services[name]["healthcheck"]["test"]


@pytest.mark.parametrize("service", SERVICES)
def test_service_command_runs_its_app_factory(compose: dict, service: str) -> None:
    command = compose["services"][service]["command"]
    assert command[:4] == ["faststream", "run", f"{service}.app:create_app", "--factory"]
    port = command[command.index("--port") + 1]
    assert "/ready" in " ".join(compose["services"][service]["healthcheck"]["test"])
    assert f":{port}/ready" in " ".join(compose["services"][service]["healthcheck"]["test"])
    assert callable(importlib.import_module(f"{service}.app").create_app)


@pytest.mark.parametrize("service", SERVICES)
def test_service_environment_matches_its_settings(compose: dict, service: str, monkeypatch) -> None:
    environment = compose["services"][service]["environment"]
    known = {var.name for var in env_vars(settings_class(service))}
    unknown = set(environment) - known
    assert not unknown, f"{service} sets variables no settings class reads: {unknown}"
    assert {"KAFKA_BOOTSTRAP_SERVERS", "MONGO_URL", f"{service.upper()}_DATABASE"} <= set(environment)
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    settings = settings_class(service)()
    host, _, port = settings.kafka.bootstrap_servers.partition(":")
    assert host == "kafka" and f"://:{port}" in compose["services"]["kafka"]["environment"]["KAFKA_LISTENERS"]
    assert settings.mongo.url.get_secret_value().startswith("mongodb://mongo:")
    assert settings.database == f"clientbase_{service}"


@pytest.mark.parametrize("service", SERVICES)
def test_service_waits_for_its_infrastructure(compose: dict, service: str) -> None:
    depends = compose["services"][service]["depends_on"]
    assert depends["kafka"]["condition"] == "service_healthy"
    assert depends["mongo"]["condition"] == "service_healthy"
    assert depends["topics"]["condition"] == "service_completed_successfully"


def test_rotation_sweep_is_scheduled_with_the_rotation_settings(compose: dict, monkeypatch) -> None:
    from rotation.cli import build_parser

    sweep = compose["services"]["rotation-sweep"]
    script = sweep["command"][-1]
    assert "clientbase-rotation sweep" in script and "sleep" in script
    build_parser().parse_args(["sweep"])
    environment = sweep["environment"]
    known = {var.name for var in env_vars(settings_class("rotation"))} | {"ROTATION_SWEEP_EVERY_S"}
    assert set(environment) <= known
    assert environment["ROTATION_DATABASE"] == compose["services"]["rotation"]["environment"]["ROTATION_DATABASE"]


def test_topics_are_created_from_the_registry(compose: dict) -> None:
    from clientbase.stack.cli import _parser

    command = compose["services"]["topics"]["command"]
    assert command[0] == "clientbase-stack"
    arguments = _parser().parse_args(command[1:])
    assert arguments.command == "create-topics" and arguments.bootstrap_servers == "kafka:9092"


def test_demo_feed_mounts_the_demo_events(compose: dict) -> None:
    from clientbase.system.cli import _parser

    feed = compose["services"]["demo-feed"]
    source, target, _ = feed["volumes"][0].split(":")
    assert (REPO / source).is_dir() and any((REPO / source).glob("*.jsonl"))
    arguments = _parser().parse_args(feed["command"][1:])
    assert arguments.command == "feed" and str(arguments.samples) == target


def test_image_builds_from_the_workspace() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    for needed in ("COPY pyproject.toml", "COPY shared", "COPY services", "uv sync --no-dev", "deploy/uv-version.txt"):
        assert needed in dockerfile
