"""The four services as processes: their app factories and HTTP ports."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    """How one service is started and where its HTTP endpoints listen."""

    name: str
    default_port: int

    @property
    def app_path(self) -> str:
        """The FastStream app factory of the service."""
        return f"{self.name}.app:create_app"

    @property
    def port_env(self) -> str:
        """Environment variable that moves the service's HTTP port."""
        return f"CLIENTBASE_{self.name.upper()}_PORT"

    @property
    def port(self) -> int:
        """The HTTP port, from the environment or the default."""
        return int(os.environ.get(self.port_env, self.default_port))

    def argv(self, python: str, port: int | None = None) -> list[str]:
        """Command line that runs the service with uvicorn under FastStream's CLI (on `port`, else its own)."""
        return [python, "-m", "faststream", "run", self.app_path, "--factory",
                "--host", "127.0.0.1", "--port", str(port or self.port)]


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("intake", 8001),
    ServiceSpec("rotation", 8002),
    ServiceSpec("notify", 8003),
    ServiceSpec("metrics", 8004),
)
