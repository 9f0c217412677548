"""Kafka subscriber of the intake service: thin, hands each polled batch of raw records to one use case.

One consumer reads the three input topics, so an intake process is one member of its consumer group: a
replica joining or leaving rebalances the group once, not once per topic.
"""

from __future__ import annotations

from collections.abc import Callable

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase import topics
from clientbase.runtime import ServiceRuntime

from intake.service import IntakeService

INPUTS = (topics.LEADS_FORM_SUBMITTED, topics.LEADS_CALL_RECEIVED, topics.SALES_RECORDED)


def build_router(runtime: ServiceRuntime, service: Callable[[], IntakeService], *, prefix: str = "") -> KafkaRouter:
    """The intake service's batch subscriber, bound to its runtime; `service` builds the use cases once MongoDB is up."""
    router = KafkaRouter()
    by_name = {prefix + topic.name: topic for topic in INPUTS}

    @router.subscriber(*by_name, **runtime.batch_options())
    async def on_leads_and_sales(msg: KafkaMessage) -> None:
        """Forms, calls and sales arrived: register or update their clients, attribute sales, or reject and keep."""
        await runtime.handle_batch(msg, lambda batch: service().ingest_batch(
            [(by_name[d.topic], d) for d in batch]))

    return router
