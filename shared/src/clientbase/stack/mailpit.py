"""Mailpit, the stack's SMTP capture server with an HTTP API to read what was sent, built from deploy/local/mailpit."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from clientbase.stack.cache import CacheEntry
from clientbase.stack.config import MAILPIT_PORT_ENV, SMTP_PORT_ENV, StackConfig
from clientbase.stack.gobinary import GoBinary
from clientbase.stack.ports import HOST, port_accepts_connections
from clientbase.stack.processes import ManagedProcess

PROBE_TIMEOUT_S = 2.0
BINARY_NAME = "mailpit"


class MailpitServer:
    """Builds and starts Mailpit, and tells whether its SMTP port and HTTP API answer."""

    name = "mailpit"
    start_alone = False

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir / "mailpit"
        self.process = ManagedProcess(
            self.name, config.run_dir / "mailpit.pid", config.logs_dir / "mailpit.log", marker=str(self.data_dir)
        )

    @property
    def port(self) -> int:
        """Port of the SMTP listener."""
        return self.config.smtp_port

    @property
    def url(self) -> str:
        """Base URL of the web UI and of the HTTP API (under /api/v1)."""
        return f"http://{HOST}:{self.config.mailpit_port}"

    def ports(self) -> list[tuple[int, str]]:
        """Ports the server listens on, each with the environment variable that moves it."""
        return [(self.config.smtp_port, SMTP_PORT_ENV), (self.config.mailpit_port, MAILPIT_PORT_ENV)]

    @property
    def build(self) -> GoBinary:
        """The Go main that runs Mailpit, and its cached binary."""
        return GoBinary(self.config.deploy_dir / "mailpit", "github.com/axllent/mailpit", BINARY_NAME, "Mailpit", self.config.cache_dir)

    @property
    def source_dir(self) -> Path:
        """Go module with the small main that runs Mailpit."""
        return self.build.source_dir

    def version(self) -> str:
        """Mailpit version required by the Go module."""
        return self.build.version()

    def cache_entry(self) -> CacheEntry:
        """Cache directory holding the built binary."""
        return self.build.cache_entry()

    @property
    def binary(self) -> Path:
        """Path of the built server binary."""
        return self.build.binary

    def prepare(self) -> bool:
        """Build the binary into the cache unless already there; return whether it built."""
        return self.build.prepare()

    def command(self) -> list[str]:
        """Command line of the server: SMTP and HTTP on 127.0.0.1, messages kept in the state directory."""
        return [
            str(self.binary), "--smtp", f"{HOST}:{self.config.smtp_port}",
            "--listen", f"{HOST}:{self.config.mailpit_port}", "--database", str(self.data_dir / "mailpit.db"),
            # No outbound traffic, and any SMTP login is accepted so that clients configured with one still work.
            "--disable-version-check", "--smtp-disable-rdns", "--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
            # Keep every message (Mailpit drops the oldest past 500 by default): tests count what was delivered.
            "--max", "0",
        ]

    def start(self) -> int:
        """Start the server on its ports and return its pid."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Mailpit also reads MP_* variables; the command line alone configures ours.
        env = {name: value for name, value in os.environ.items() if not name.startswith("MP_")}
        return self.process.start(self.command(), cwd=self.config.state_dir, env=env)

    def is_answering(self) -> bool:
        """Say whether the SMTP port accepts connections and the HTTP API reports itself ready."""
        if not port_accepts_connections(self.config.smtp_port):
            return False
        # No proxy from the environment may stand between us and 127.0.0.1.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.url}/readyz", timeout=PROBE_TIMEOUT_S) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, pid: int, timeout_s: float) -> None:
        """Wait until both listeners answer."""
        self.process.wait_until(self.is_answering, timeout_s, pid)
