"""The local stack: a real Kafka broker and FerretDB on 127.0.0.1, brought up and down without Docker."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clientbase.stack.cache import file_lock
from clientbase.stack.config import StackConfig, default_cache_dir
from clientbase.stack.errors import StackError
from clientbase.stack.ferretdb import FerretDBServer
from clientbase.stack.kafka import KafkaServer
from clientbase.stack.ports import ensure_port_free, free_ports
from clientbase.stack.topics import create_registry_topics

log = logging.getLogger("clientbase.stack")

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0

Server = KafkaServer | FerretDBServer


@dataclass(frozen=True)
class StackEndpoints:
    """Addresses clients use to reach the stack's Kafka broker and MongoDB-compatible server."""

    kafka_bootstrap: str
    mongo_url: str


class LocalStack:
    """Prepares, starts, inspects and stops the stack's servers, keeping their state under one directory."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.kafka = KafkaServer(config)
        self.ferretdb = FerretDBServer(config)

    @classmethod
    def from_env(cls) -> LocalStack:
        """Return the stack configured by CLIENTBASE_* environment variables."""
        return cls(StackConfig.from_env())

    @classmethod
    def ephemeral(cls, base_dir: Path) -> LocalStack:
        """Return a stack on free ports with its state in `base_dir` and the shared build cache."""
        kafka_port, controller_port, mongo_port = free_ports(3)
        config = StackConfig(
            state_dir=Path(base_dir), cache_dir=default_cache_dir(), kafka_port=kafka_port,
            kafka_controller_port=controller_port, mongo_port=mongo_port,
        )
        return cls(config)

    @property
    def servers(self) -> tuple[Server, ...]:
        """The stack's servers, in start order."""
        return (self.ferretdb, self.kafka)

    @property
    def endpoints(self) -> StackEndpoints:
        """Where clients reach the stack."""
        return StackEndpoints(kafka_bootstrap=self.kafka.bootstrap_servers, mongo_url=self.ferretdb.mongo_url)

    def prepare(self) -> None:
        """Fetch the Kafka jars and build FerretDB into the cache side by side, reusing finished earlier work."""
        with ThreadPoolExecutor(max_workers=len(self.servers)) as workers:
            for outcome in [workers.submit(self._prepare_one, server) for server in self.servers]:
                outcome.result()

    @staticmethod
    def _prepare_one(server: Server) -> None:
        started = time.monotonic()
        if server.prepare():
            log.info("%s prepared in %.1f s into %s", server.name, time.monotonic() - started,
                     server.cache_entry().directory)

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
        try:
            began = time.monotonic()
            for server in servers:
                started.append((server, server.start()))
            for server, pid in started:
                server.wait_ready(pid, READY_TIMEOUT_S)
                log.info("%s started (pid %d, port %d) in %.1f s", server.name, pid, server.port,
                         time.monotonic() - began)
        except BaseException:
            for server, _ in started:
                server.process.stop(STOP_TIMEOUT_S)
            raise

    def down(self) -> None:
        """Stop the stack's servers: SIGTERM, then SIGKILL after a timeout; pid files are removed."""
        with file_lock(self.config.run_dir / "stack.lock"):
            for server in reversed(self.servers):
                if server.process.stop(STOP_TIMEOUT_S):
                    log.info("%s stopped", server.name)
                else:
                    log.info("%s was not running", server.name)

    def status(self) -> dict[str, dict[str, Any]]:
        """Report, per server, its pid, port, whether our process runs and whether it answers."""
        report: dict[str, dict[str, Any]] = {}
        for server in self.servers:
            pid = server.process.running_pid()
            report[server.name] = {
                "pid": pid,
                "port": server.port,
                "running": pid is not None,
                "answering": pid is not None and server.is_answering(),
                "log": str(server.process.log_file),
            }
        return report
