"""Errors the local stack manager raises when it cannot bring the servers up or down."""

from __future__ import annotations


class StackError(RuntimeError):
    """The local stack could not be prepared, started or stopped; the message says why."""


class PortInUseError(StackError):
    """A port the stack needs is held by a process that is not one of ours."""

    def __init__(self, port: int, env_var: str, component: str) -> None:
        self.port = port
        self.env_var = env_var
        self.component = component
        super().__init__(
            f"port {port} on 127.0.0.1, needed by {component}, is already in use by another process; "
            f"stop that process or choose another port with {env_var}=<port>"
        )
