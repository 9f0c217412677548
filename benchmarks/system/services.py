"""The four services as separate processes (the system launcher), on fresh databases and groups, with their usage."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clientbase import topics
from clientbase.stack.config import StackConfig, default_cache_dir
from clientbase.stack.ports import free_ports
from clientbase.stack.stack import StackEndpoints
from clientbase.system.environment import environment
from clientbase.system.launcher import SMS_SINK_PORT_ENV, SystemLauncher
from clientbase.system.services import SERVICES

from benchmarks.support.usage import Usage, usage_of
from benchmarks.system.backlogs import place_group_at_end


class RunningServices:
    """The launched processes and the names of their databases."""

    def __init__(self, launcher: SystemLauncher, databases: dict[str, str]) -> None:
        self.launcher = launcher
        self.databases = databases

    def usage(self) -> dict[str, Usage]:
        """CPU seconds and peak RSS of each service process so far."""
        return {spec.name: usage_of(pid) if (pid := self.launcher.process(spec).running_pid()) else Usage(0.0, 0.0)
                for spec in self.launcher.services}


@contextmanager
def running_services(endpoints: StackEndpoints, run: str, state_dir: Path) -> Iterator[RunningServices]:
    """Start intake, rotation, notify and metrics on free ports, each group placed at the end of every topic."""
    ports = free_ports(len(SERVICES) + 1)
    variables = {spec.port_env: str(port) for spec, port in zip(SERVICES, ports, strict=False)}
    variables[SMS_SINK_PORT_ENV] = str(ports[-1])
    config = StackConfig(state_dir=state_dir, cache_dir=default_cache_dir())
    launcher = SystemLauncher(config)
    databases = {spec.name: f"bench_{run}_sys_{spec.name}" for spec in SERVICES}
    extra_env = {"LOG_LEVEL": "WARNING", "NOTIFY_SMTP_HOST": endpoints.smtp_host,
                 "NOTIFY_SMTP_PORT": str(endpoints.smtp_port),
                 # four services share one FerretDB, which serves 50 PostgreSQL connections
                 "MONGO_MAX_POOL_SIZE": os.environ.get("MONGO_MAX_POOL_SIZE", "10")}
    for spec in SERVICES:
        group = f"bench-{run}-sys-{spec.name}"
        extra_env[f"{spec.name.upper()}_DATABASE"] = databases[spec.name]
        extra_env[f"{spec.name.upper()}_GROUP_ID"] = group
        asyncio.run(place_group_at_end(endpoints.kafka_bootstrap, group, [t.name for t in topics.TOPICS]))
    with environment(variables):
        try:
            launcher.up(endpoints, extra_env=extra_env)
            yield RunningServices(launcher, databases)
        finally:
            launcher.down()
