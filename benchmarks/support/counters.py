"""Counts what a process sends: MongoDB commands (PyMongo command monitoring) and Kafka requests (aiokafka's client)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiokafka.client import AIOKafkaClient
from pymongo import monitoring

MONGO_WRITES = frozenset({"insert", "update", "delete", "findAndModify", "createIndexes"})
HARNESS_COMMENT = "benchmark-harness"  # the harness's own polling, not counted
MONGO_IGNORED = frozenset({"hello", "isMaster", "ismaster", "ping", "endSessions", "buildInfo"})


class MongoCommands(monitoring.CommandListener):
    """Counts the commands every MongoDB client of this process sends, by name."""

    def __init__(self) -> None:
        self.by_name: Counter[str] = Counter()
        self.by_target: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Count one command."""
        if event.command_name not in MONGO_IGNORED and event.command.get("comment") != HARNESS_COMMENT:
            target = event.command.get(event.command_name)
            self.by_name[event.command_name] += 1
            self.by_target[f"{event.command_name} {target if isinstance(target, str) else ''}".strip()] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Nothing to count."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Nothing to count."""

    def totals(self) -> dict[str, int]:
        """Reads and writes sent so far."""
        writes = sum(n for name, n in self.by_name.items() if name in MONGO_WRITES)
        return {"mongo_reads": sum(self.by_name.values()) - writes, "mongo_writes": writes,
                "mongo_commands": dict(self.by_target.most_common())}


class KafkaRequests:
    """Counts the requests every aiokafka client of this process sends to the brokers, by request type."""

    def __init__(self) -> None:
        self.by_type: Counter[str] = Counter()

    def install(self) -> None:
        """Wrap the one method every aiokafka request goes through."""
        original = AIOKafkaClient.send
        counts = self.by_type

        async def send(client: AIOKafkaClient, node_id: Any, request: Any, **kwargs: Any) -> Any:
            counts[type(request).__name__.removesuffix("Request").rstrip("_v0123456789")] += 1
            return await original(client, node_id, request, **kwargs)

        AIOKafkaClient.send = send  # type: ignore[method-assign]

    def totals(self) -> dict[str, int]:
        """Requests sent so far: all, and the produce and fetch requests among them."""
        return {"kafka_requests": sum(self.by_type.values()), "kafka_produce": self.by_type["Produce"],
                "kafka_fetch": self.by_type["Fetch"]}


def install() -> tuple[MongoCommands, KafkaRequests]:
    """Start counting in this process; call before any client is created."""
    mongo, kafka = MongoCommands(), KafkaRequests()
    monitoring.register(mongo)
    kafka.install()
    return mongo, kafka
