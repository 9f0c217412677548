"""Kafka subscribers of the metrics service: thin, hand each polled batch of raw records to one use case."""

from __future__ import annotations

from collections.abc import Callable

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase.runtime import ServiceRuntime

from metrics.facts import CONSUMED
from metrics.service import MetricsService


def build_router(runtime: ServiceRuntime, service: Callable[[], MetricsService], *, prefix: str = "") -> KafkaRouter:
    """The metrics service's one batch subscriber over every topic it reads (ack after the facts are stored)."""
    router = KafkaRouter()

    @router.subscriber(*(prefix + topic.name for topic in CONSUMED), **runtime.batch_options())
    async def on_events(msg: KafkaMessage) -> None:
        """Client, assignment, sale, activity, roster, handover and notification events: record them as facts."""
        await runtime.handle_batch(msg, lambda batch: service().record(batch))

    return router
