"""Runs the four services as separate processes against the real stack for end-to-end tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clientbase.stack.config import StackConfig, default_cache_dir
from clientbase.stack.ports import free_ports
from clientbase.stack.topics import create_registry_topics
from clientbase.system.launcher import SMS_SINK_PORT_ENV, SystemLauncher
from clientbase.system.services import SERVICES


@dataclass(frozen=True)
class RunningSystem:
    """The four running services and where their state lives."""

    launcher: SystemLauncher
    databases: dict[str, str]
    groups: dict[str, str]
    kafka_bootstrap: str
    mongo_url: str
    prefix: str
    keyvault_database: str

    def topic(self, name: str) -> str:
        """The name a public topic has in this run: the run's own prefix keeps other tests' events out."""
        return self.prefix + name

    def rotation_env(self) -> dict[str, str]:
        """The environment of a rotation command line (a story's sweeps) run against this system."""
        return {"ROTATION_DATABASE": self.databases["rotation"], "ROTATION_TOPIC_PREFIX": self.prefix,
                "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap, "MONGO_URL": self.mongo_url, "LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module")
def system_env() -> dict[str, str]:
    """Extra settings of the services of a module's system (a module overrides this fixture to set some)."""
    return {}


@pytest.fixture(scope="module")
def running_system(stack_endpoints, tmp_path_factory: pytest.TempPathFactory,
                   system_env: dict[str, str]) -> Iterator[RunningSystem]:
    """Start intake, rotation, notify and metrics as processes on free ports, with their own databases.

    The run has topics of its own (the public names under a prefix of the run), so the services see only
    what the run feeds them, whatever other tests left on the public topics. Module scope: each module
    gets a fresh system.
    """
    run_id = uuid.uuid4().hex[:8]
    prefix = f"e2e{run_id}."
    ports = free_ports(len(SERVICES) + 4)
    saved = {name: os.environ.get(name) for name in (*(spec.port_env for spec in SERVICES), SMS_SINK_PORT_ENV)}
    for spec, port in zip(SERVICES, ports, strict=False):
        os.environ[spec.port_env] = str(port)
    os.environ[SMS_SINK_PORT_ENV] = str(ports[len(SERVICES)])
    config = StackConfig(state_dir=Path(tmp_path_factory.mktemp("system")), cache_dir=default_cache_dir(),
                         kafka_port=ports[-3], kafka_controller_port=ports[-2], mongo_port=ports[-1])
    launcher = SystemLauncher(config)
    databases = {spec.name: f"e2e_{run_id}_{spec.name}" for spec in SERVICES}
    groups = {spec.name: f"e2e-{run_id}-{spec.name}" for spec in SERVICES}
    keyvault_database = f"e2e_{run_id}_keyvault"
    extra_env = {"LOG_LEVEL": "INFO", "KEYVAULT_DATABASE": keyvault_database, **system_env}
    for spec in SERVICES:
        extra_env[f"{spec.name.upper()}_DATABASE"] = databases[spec.name]
        extra_env[f"{spec.name.upper()}_GROUP_ID"] = groups[spec.name]
        extra_env[f"{spec.name.upper()}_TOPIC_PREFIX"] = prefix
    create_registry_topics(stack_endpoints.kafka_bootstrap, prefix)
    try:
        launcher.up(stack_endpoints, extra_env=extra_env)
        yield RunningSystem(launcher, databases, groups, stack_endpoints.kafka_bootstrap, stack_endpoints.mongo_url,
                            prefix, keyvault_database)
    finally:
        launcher.down()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
