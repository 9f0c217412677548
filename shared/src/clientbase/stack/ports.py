"""Checks that a TCP port on 127.0.0.1 is free, and picks free ones."""

from __future__ import annotations

import socket
from contextlib import ExitStack

from clientbase.stack.errors import PortInUseError

HOST = "127.0.0.1"


def port_is_free(port: int) -> bool:
    """Say whether a server could listen on 127.0.0.1:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Servers set SO_REUSEADDR too, so a port left in TIME_WAIT by our last run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def ensure_port_free(port: int, env_var: str, component: str) -> None:
    """Raise PortInUseError, naming the port and the variable that moves it, when the port is taken."""
    if not port_is_free(port):
        raise PortInUseError(port, env_var, component)


def free_ports(count: int) -> list[int]:
    """Return `count` distinct ports the kernel reports free on 127.0.0.1."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def free_port() -> int:
    """Return one port the kernel reports free on 127.0.0.1."""
    return free_ports(1)[0]


def port_accepts_connections(port: int, timeout_s: float = 1.0) -> bool:
    """Say whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout_s):
            return True
    except OSError:
        return False
