"""One consumer over several input topics: each polled batch is handed to its use cases topic by topic, in a fixed order.

A service that reads its inputs with one consumer is one member of its group (one rebalance when it joins or leaves,
not one per topic), and the order of its steps settles what arrives together: the roster before the clients, the
clients before what happened to them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from clientbase.kafka.reliability import Delivery
from clientbase.topics import Topic

UseCases = TypeVar("UseCases")
Step = Callable[[UseCases, Sequence[Delivery]], Awaitable[None]]
Steps = tuple[tuple[Topic, Step[UseCases]], ...]


def step_topics(steps: Steps[UseCases], prefix: str = "") -> tuple[str, ...]:
    """The names of the topics the steps read, under a prefix."""
    return tuple(prefix + topic.name for topic, _ in steps)


async def run_steps(steps: Steps[UseCases], use_cases: UseCases, batch: Sequence[Delivery], prefix: str = "") -> None:
    """Hand each topic's part of the batch (in polled order) to its step, in the order of the steps."""
    parts: dict[str, list[Delivery]] = {}
    for delivery in batch:
        parts.setdefault(delivery.topic.removeprefix(prefix), []).append(delivery)
    for topic, step in steps:
        if part := parts.get(topic.name):
            await step(use_cases, part)
