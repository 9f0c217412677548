"""Kafka subscribers of the metrics service: thin, hand each polled batch of raw records to one use case."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase import topics
from clientbase.kafka.reliability import Delivery
from clientbase.runtime import ServiceRuntime

from metrics.facts import CONSUMED
from metrics.service import MetricsService


def build_router(runtime: ServiceRuntime, service: Callable[[], MetricsService], *, prefix: str = "",
                 erasure: Callable[[Sequence[Delivery]], Awaitable[object]] | None = None) -> KafkaRouter:
    """The metrics service's one batch subscriber over every topic it reads (ack after the facts are stored)."""
    router = KafkaRouter()
    erasures = prefix + topics.CLIENTS_ERASURE_REQUESTED.name
    inputs = [prefix + topic.name for topic in CONSUMED] + ([erasures] if erasure else [])

    async def handle(batch: Sequence[Delivery]) -> None:
        """Facts first, then erasure requests."""
        if events := [d for d in batch if d.topic != erasures]:
            await service().record(events)
        if (requests := [d for d in batch if d.topic == erasures]) and erasure is not None:
            await erasure(requests)

    @router.subscriber(*inputs, **runtime.batch_options())
    async def on_events(msg: KafkaMessage) -> None:
        """Client, assignment, sale, activity, roster, handover and notification events: record them as facts."""
        await runtime.handle_batch(msg, handle)

    return router
