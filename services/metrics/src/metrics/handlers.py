"""Kafka subscribers of the metrics service: thin, parse the event and call one use case."""

from __future__ import annotations

from faststream.kafka import KafkaRouter

from clientbase.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime) -> KafkaRouter:
    """The metrics service's subscribers, bound to its runtime."""
    router = KafkaRouter()
    return router
