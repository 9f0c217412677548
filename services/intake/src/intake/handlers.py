"""Kafka subscriber of the intake service: thin, hands each polled batch of raw records to one use case.

One consumer reads the three input topics, so an intake process is one member of its consumer group: a
replica joining or leaving rebalances the group once, not once per topic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase import topics
from clientbase.runtime import ServiceRuntime

from clientbase.kafka.reliability import Delivery

from intake.privacy import IntakePrivacy
from intake.service import IntakeService

INPUTS = (topics.LEADS_FORM_SUBMITTED, topics.LEADS_CALL_RECEIVED, topics.SALES_RECORDED)
PRIVACY_INPUTS = (topics.CLIENTS_ERASURE_REQUESTED, topics.CLIENTS_ERASED)


def build_router(runtime: ServiceRuntime, service: Callable[[], IntakeService], *, prefix: str = "",
                 privacy: Callable[[], IntakePrivacy] | None = None) -> KafkaRouter:
    """The intake service's batch subscriber, bound to its runtime; `service` builds the use cases once MongoDB is up."""
    router = KafkaRouter()
    by_name = {prefix + topic.name: topic for topic in (*INPUTS, *(PRIVACY_INPUTS if privacy else ()))}

    async def handle(batch: Sequence[Delivery]) -> None:
        """Leads and sales first, then erasure requests and the services' erasure reports."""
        leads = [(by_name[d.topic], d) for d in batch if by_name[d.topic] in INPUTS]
        if leads:
            await service().ingest_batch(leads)
        requests = [d for d in batch if by_name[d.topic] in PRIVACY_INPUTS]
        if requests and privacy is not None:
            await privacy().handle(requests, by_name)

    @router.subscriber(*by_name, **runtime.batch_options())
    async def on_leads_and_sales(msg: KafkaMessage) -> None:
        """Forms, calls and sales arrived: register or update their clients, attribute sales, or reject and keep."""
        await runtime.handle_batch(msg, handle)

    return router
