"""Counting a batch's MongoDB round trips: a command listener by command name, and an in-memory publisher."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pymongo.monitoring import CommandFailedEvent, CommandListener, CommandStartedEvent, CommandSucceededEvent

WRITES = {"insert", "update", "delete", "findAndModify"}
READS = {"find", "getMore", "aggregate", "count"}


class Commands(CommandListener):
    """Counts the commands the driver sends, by name."""

    def __init__(self) -> None:
        self.names: Counter[str] = Counter()

    def started(self, event: CommandStartedEvent) -> None:
        self.names[event.command_name] += 1

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass

    def split(self) -> tuple[int, int]:
        """(reads, writes) counted so far."""
        return sum(n for c, n in self.names.items() if c in READS), sum(n for c, n in self.names.items() if c in WRITES)


class Sink:
    """A publisher that keeps events in memory."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    async def publish(self, topic: Any, event: Any, *, key: str) -> None:
        self.events.append(event)

    async def publish_all(self, items: Any) -> None:
        self.events.extend(event for _, event, _ in items)
