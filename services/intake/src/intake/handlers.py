"""Kafka subscribers of the intake service: thin, hand the raw bytes to one use case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy

from clientbase import topics
from clientbase.runtime import ServiceRuntime

from intake.service import IntakeService


async def keep_raw(message: Any) -> bytes:
    """Decoder that leaves the body as bytes, so bad JSON reaches the use case and is quarantined, not dead-lettered."""
    return bytes(message.body)


def build_router(runtime: ServiceRuntime, service: Callable[[], IntakeService], *, prefix: str = "",
                 consumers_per_topic: int = 1) -> KafkaRouter:
    """The intake service's subscribers, bound to its runtime; `service` builds the use cases once MongoDB is up."""
    router = KafkaRouter()
    options: dict[str, Any] = {
        "group_id": runtime.settings.group_id, "ack_policy": AckPolicy.NACK_ON_ERROR,
        "auto_offset_reset": "earliest", "decoder": keep_raw, "max_workers": consumers_per_topic,
    }

    @router.subscriber(prefix + topics.LEADS_FORM_SUBMITTED.name, **options)
    async def on_form_submitted(msg: KafkaMessage) -> None:
        """A web form was submitted: register or update its client, or reject it."""
        await service().ingest(topics.LEADS_FORM_SUBMITTED, msg.body)

    @router.subscriber(prefix + topics.LEADS_CALL_RECEIVED.name, **options)
    async def on_call_received(msg: KafkaMessage) -> None:
        """A call was reported: register or update the other party's client, or reject it."""
        await service().ingest(topics.LEADS_CALL_RECEIVED, msg.body)

    @router.subscriber(prefix + topics.SALES_RECORDED.name, **options)
    async def on_sale_recorded(msg: KafkaMessage) -> None:
        """A sale was recorded: attribute it to its client, or reject and keep it."""
        await service().ingest(topics.SALES_RECORDED, msg.body)

    return router
