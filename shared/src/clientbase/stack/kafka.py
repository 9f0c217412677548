"""The single-node KRaft Apache Kafka broker of the local stack, run from Maven Central jars."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from clientbase.stack.cache import CacheEntry
from clientbase.stack.config import KAFKA_CONTROLLER_PORT_ENV, KAFKA_PORT_ENV, StackConfig
from clientbase.stack.coroutines import run_coroutine
from clientbase.stack.errors import StackError
from clientbase.stack.ports import HOST, port_accepts_connections
from clientbase.stack.processes import ManagedProcess
from clientbase.stack.tools import java_executable, require_tool, run_tool

STARTED_LINE = "Kafka Server started"
HEAP_OPTIONS = ("-Xms256m", "-Xmx1g")
PROBE_TIMEOUT_S = 5.0

LOG4J2_YAML = """\
Configuration:
  status: warn
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
"""


def random_cluster_id() -> str:
    """Return a cluster id in Kafka's format: a random UUID as unpadded URL-safe base64, not starting with '-'."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


async def _metadata_answers(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(PROBE_TIMEOUT_S * 1000))
    try:
        await asyncio.wait_for(admin.start(), PROBE_TIMEOUT_S)
        await asyncio.wait_for(admin.describe_cluster(), PROBE_TIMEOUT_S)
        return True
    except (KafkaError, OSError, asyncio.TimeoutError):
        return False
    finally:
        await admin.close()


class KafkaServer:
    """Fetches, configures, formats and starts the broker, and tells whether it answers metadata requests."""

    name = "kafka"
    start_alone = False

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.properties_file = config.conf_dir / "kafka.properties"
        self.log4j_file = config.conf_dir / "kafka-log4j2.yaml"
        self.data_dir = config.data_dir / "kafka"
        self.process = ManagedProcess(
            self.name, config.run_dir / "kafka.pid", config.logs_dir / "kafka.log", marker=str(self.properties_file)
        )
        self._log_offset_at_start: int | None = None

    @property
    def port(self) -> int:
        """Port of the PLAINTEXT listener clients connect to."""
        return self.config.kafka_port

    @property
    def bootstrap_servers(self) -> str:
        """Bootstrap address for Kafka clients."""
        return f"{HOST}:{self.config.kafka_port}"

    def ports(self) -> list[tuple[int, str]]:
        """Ports the broker listens on, each with the environment variable that moves it."""
        return [(self.config.kafka_port, KAFKA_PORT_ENV), (self.config.kafka_controller_port, KAFKA_CONTROLLER_PORT_ENV)]

    @property
    def pom(self) -> Path:
        """Maven project that resolves the broker and its runtime dependencies."""
        return self.config.deploy_dir / "kafka" / "pom.xml"

    def version(self) -> str:
        """Kafka version pinned in the pom."""
        match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", self.pom.read_text())
        if match is None:
            raise StackError(f"no <kafka.version> property in {self.pom}")
        return match.group(1)

    def cache_entry(self) -> CacheEntry:
        """Cache directory holding libs/ with every jar the broker needs."""
        return CacheEntry(self.config.cache_dir / f"kafka-{self.version()}", [self.pom])

    @property
    def libs_dir(self) -> Path:
        """Directory of the broker's jars."""
        return self.cache_entry().directory / "libs"

    def prepare(self) -> bool:
        """Copy the broker jars from Maven into the cache unless already there; return whether it fetched."""
        return self.cache_entry().ensure(self._fetch_jars)

    def _fetch_jars(self, directory: Path) -> None:
        command = [
            require_tool("mvn"), "-B", "-q", "-f", str(self.pom), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={directory / 'libs'}",
        ]
        if self.config.maven_repo is not None:
            command.append(f"-Dmaven.repo.local={self.config.maven_repo}")
        run_tool(command, what="fetching the Kafka jars with Maven", timeout_s=1800)

    def _server_properties(self) -> str:
        c = self.config
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{HOST}:{c.kafka_controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{c.kafka_port},CONTROLLER://{HOST}:{c.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{c.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            # One partition per internal topic: the first consumer group and producer id come up in a blink.
            "offsets.topic.num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _java_command(self, main_class: str, *arguments: str) -> list[str]:
        return [
            java_executable(), *HEAP_OPTIONS, "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_file}", "-cp", f"{self.libs_dir}/*", main_class, *arguments,
        ]

    def _format_storage_once(self) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = self._java_command(
            "kafka.tools.StorageTool", "format", "--standalone", "-t", random_cluster_id(),
            "-c", str(self.properties_file),
        )
        run_tool(command, what="formatting the Kafka storage", timeout_s=180)

    def start(self) -> int:
        """Write the configuration, format the storage on first use, start the broker and return its pid."""
        self.config.conf_dir.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(self._server_properties())
        self.log4j_file.write_text(LOG4J2_YAML)
        self._format_storage_once()
        self._log_offset_at_start = self.process.log_size()
        return self.process.start(
            self._java_command("kafka.Kafka", str(self.properties_file)), cwd=self.config.state_dir
        )

    def is_answering(self) -> bool:
        """Say whether the broker answers a metadata request."""
        # A plain connect first: aiokafka logs an error for every refused connection.
        if not port_accepts_connections(self.config.kafka_port):
            return False
        return run_coroutine(lambda: _metadata_answers(self.bootstrap_servers))

    def _started_and_answering(self) -> bool:
        if self._log_offset_at_start is not None:
            if STARTED_LINE not in self.process.log_since(self._log_offset_at_start):
                return False
        return self.is_answering()

    def wait_ready(self, pid: int, timeout_s: float) -> None:
        """Wait until the broker logged its start (when we started it) and answers metadata requests."""
        self.process.wait_until(self._started_and_answering, timeout_s, pid)
