"""Runs the four services as separate processes on free ports against a stack, under a topic prefix of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from clientbase.stack.config import StackConfig, default_cache_dir
from clientbase.stack.ports import free_ports
from clientbase.stack.stack import StackEndpoints
from clientbase.stack.topics import create_registry_topics
from clientbase.system.environment import environment
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
                "KEYVAULT_DATABASE": self.keyvault_database, "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
                "MONGO_URL": self.mongo_url, "LOG_LEVEL": "WARNING"}


@contextmanager
def running_system(endpoints: StackEndpoints, state_dir: Path, extra_env: dict[str, str] | None = None,
                   name: str = "e2e") -> Iterator[RunningSystem]:
    """Start intake, rotation, notify and metrics as processes on free ports, with their own databases and groups.

    The run has topics of its own (the public names under a prefix of the run), so the services see only
    what the run feeds them, whatever other runs left on the public topics.
    """
    run_id = uuid.uuid4().hex[:8]
    prefix = f"{name}{run_id}."
    ports = free_ports(len(SERVICES) + 4)
    variables = {spec.port_env: str(port) for spec, port in zip(SERVICES, ports, strict=False)}
    variables[SMS_SINK_PORT_ENV] = str(ports[len(SERVICES)])
    config = StackConfig(state_dir=state_dir, cache_dir=default_cache_dir(),
                         kafka_port=ports[-3], kafka_controller_port=ports[-2], mongo_port=ports[-1])
    launcher = SystemLauncher(config)
    databases = {spec.name: f"{name}_{run_id}_{spec.name}" for spec in SERVICES}
    groups = {spec.name: f"{name}-{run_id}-{spec.name}" for spec in SERVICES}
    keyvault_database = f"{name}_{run_id}_keyvault"
    env = {"LOG_LEVEL": "INFO", "KEYVAULT_DATABASE": keyvault_database, **(extra_env or {})}
    for spec in SERVICES:
        env[f"{spec.name.upper()}_DATABASE"] = databases[spec.name]
        env[f"{spec.name.upper()}_GROUP_ID"] = groups[spec.name]
        env[f"{spec.name.upper()}_TOPIC_PREFIX"] = prefix
    create_registry_topics(endpoints.kafka_bootstrap, prefix)
    with environment(variables):
        try:
            launcher.up(endpoints, extra_env=env)
            yield RunningSystem(launcher, databases, groups, endpoints.kafka_bootstrap, endpoints.mongo_url, prefix,
                                keyvault_database)
        finally:
            launcher.down()
