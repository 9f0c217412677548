"""The local stack: Kafka, FerretDB on PostgreSQL (or SQLite) and Mailpit on 127.0.0.1, without Docker."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from clientbase.stack.cache import file_lock
from clientbase.stack.config import StackConfig, default_cache_dir
from clientbase.stack.errors import StackError
from clientbase.stack.ferretdb import FerretDBServer
from clientbase.stack.kafka import KafkaServer
from clientbase.stack.mailpit import MailpitServer
from clientbase.stack.ports import HOST, ensure_port_free, free_ports
from clientbase.stack.postgres import PostgresServer
from clientbase.stack.processes import ManagedProcess
from clientbase.stack.topics import create_registry_topics

log = logging.getLogger("clientbase.stack")

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


class Server(Protocol):
    """What the stack needs of each of its servers."""

    name: str
    process: ManagedProcess
    # Wait until this server answers before starting the next ones (they connect to it at start).
    start_alone: bool

    @property
    def port(self) -> int:
        """Main port, shown by status."""
        ...

    def ports(self) -> list[tuple[int, str]]:
        """Every port, with the environment variable that moves it."""
        ...

    def prepare(self) -> bool:
        """Fetch or build what the server runs into the cache; return whether work was done."""
        ...

    def start(self) -> int:
        """Start the server and return its pid."""
        ...

    def wait_ready(self, pid: int, timeout_s: float) -> None:
        """Wait until the server answers."""
        ...

    def is_answering(self) -> bool:
        """Say whether the server answers now."""
        ...


@dataclass(frozen=True)
class StackEndpoints:
    """Addresses clients use to reach the stack's Kafka broker, MongoDB-compatible server and mail capture."""

    kafka_bootstrap: str
    mongo_url: str
    smtp_host: str = HOST
    smtp_port: int = 1025
    mailpit_url: str = f"http://{HOST}:8025"
    postgres_url: str | None = None


class LocalStack:
    """Prepares, starts, inspects and stops the stack's servers, keeping their state under one directory."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.postgres = PostgresServer(config)
        self.ferretdb = FerretDBServer(config, self.postgres)
        self.kafka = KafkaServer(config)
        self.mailpit = MailpitServer(config)

    @classmethod
    def from_env(cls) -> LocalStack:
        """Return the stack configured by CLIENTBASE_* environment variables."""
        return cls(StackConfig.from_env())

    @classmethod
    def ephemeral(cls, base_dir: Path) -> LocalStack:
        """Return a stack on free ports with its state in `base_dir` and the shared build cache."""
        kafka_port, controller_port, mongo_port, postgres_port, smtp_port, mailpit_port = free_ports(6)
        config = StackConfig(
            state_dir=Path(base_dir), cache_dir=default_cache_dir(), kafka_port=kafka_port,
            kafka_controller_port=controller_port, mongo_port=mongo_port, postgres_port=postgres_port,
            smtp_port=smtp_port, mailpit_port=mailpit_port,
        )
        return cls(config)

    @property
    def servers(self) -> tuple[Server, ...]:
        """The stack's servers for its configured backend, in start order."""
        first: tuple[Server, ...] = (self.postgres,) if self.config.uses_postgres else ()
        return (*first, self.ferretdb, self.kafka, self.mailpit)

    @property
    def _every_server(self) -> tuple[Server, ...]:
        # `down` also stops a PostgreSQL started while the other backend was configured.
        return (self.postgres, self.ferretdb, self.kafka, self.mailpit)

    @property
    def endpoints(self) -> StackEndpoints:
        """Where clients reach the stack."""
        return StackEndpoints(
            kafka_bootstrap=self.kafka.bootstrap_servers, mongo_url=self.ferretdb.mongo_url,
            smtp_host=HOST, smtp_port=self.config.smtp_port, mailpit_url=self.mailpit.url,
            postgres_url=self.postgres.url() if self.config.uses_postgres else None,
        )

    def prepare(self) -> None:
        """Fetch the Kafka jars and build FerretDB and Mailpit into the cache side by side, reusing earlier work."""
        with ThreadPoolExecutor(max_workers=len(self.servers)) as workers:
            for outcome in [workers.submit(self._prepare_one, server) for server in self.servers]:
                outcome.result()

    @staticmethod
    def _prepare_one(server: Server) -> None:
        started = time.monotonic()
        if server.prepare():
            log.info("%s prepared in %.1f s", server.name, time.monotonic() - started)

    def up(self) -> StackEndpoints:
        """Start whatever of the stack is not running yet, wait until it answers, and create the topics."""
        with file_lock(self.config.run_dir / "stack.lock"):
            to_start = [server for server in self.servers if not self._reuse_running(server)]
            for server in to_start:
                for port, env_var in server.ports():
                    ensure_port_free(port, env_var, server.name)
            if to_start:
                self.prepare()
                self._start_and_wait(to_start)
            created = create_registry_topics(self.kafka.bootstrap_servers)
            if created:
                log.info("created %d topics", len(created))
        return self.endpoints

    def _reuse_running(self, server: Server) -> bool:
        pid = server.process.running_pid()
        if pid is None:
            return False
        try:
            server.wait_ready(pid, READY_TIMEOUT_S)
        except StackError as error:
            raise StackError(f"{error}\nour {server.name} (pid {pid}) runs but does not answer; "
                             "run `down`, then `up` again") from None
        log.info("%s already running (pid %d, port %d)", server.name, pid, server.port)
        return True

    def _start_and_wait(self, servers: list[Server]) -> None:
        started: list[tuple[Server, int]] = []
        began = time.monotonic()

        def wait(server: Server, pid: int) -> None:
            server.wait_ready(pid, READY_TIMEOUT_S)
            log.info("%s started (pid %d, port %d) in %.1f s", server.name, pid, server.port,
                     time.monotonic() - began)

        try:
            for server in servers:
                started.append((server, server.start()))
                if server.start_alone:
                    wait(*started[-1])
            for server, pid in started:
                if not server.start_alone:
                    wait(server, pid)
        except BaseException:
            for server, _ in reversed(started):
                server.process.stop(STOP_TIMEOUT_S)
            raise

    def down(self) -> None:
        """Stop the stack's servers, last started first: their stop signal, then SIGKILL after a timeout."""
        with file_lock(self.config.run_dir / "stack.lock"):
            for server in reversed(self._every_server):
                if server.process.stop(STOP_TIMEOUT_S):
                    log.info("%s stopped", server.name)
                elif server in self.servers:
                    log.info("%s was not running", server.name)

    def server(self, name: str) -> Server:
        """One of the stack's servers by name (kafka, ferretdb, postgres, mailpit)."""
        for server in self._every_server:
            if server.name == name:
                return server
        raise StackError(f"no server named {name!r} in the stack")

    def stop_server(self, name: str, *, kill: bool = False) -> None:
        """Stop one running server: cleanly with its stop signal, or with SIGKILL as a crash would."""
        process = self.server(name).process
        stopped = process.kill() if kill else process.stop(STOP_TIMEOUT_S)
        if not stopped:
            raise StackError(f"{name} was not running")

    def start_server(self, name: str) -> None:
        """Start one stopped server again on its ports and state, and wait until it answers."""
        self._start_and_wait([self.server(name)])

    def status(self) -> dict[str, dict[str, Any]]:
        """Report, per server, its pid, port, whether our process runs and whether it answers."""
        report: dict[str, dict[str, Any]] = {}
        for server in self._every_server:
            pid = server.process.running_pid()
            if server not in self.servers and pid is None:
                continue
            report[server.name] = {
                "pid": pid,
                "port": server.port,
                "ports": [port for port, _ in server.ports()],
                "running": pid is not None,
                "answering": pid is not None and server.is_answering(),
                "log": str(server.process.log_file),
            }
        return report
