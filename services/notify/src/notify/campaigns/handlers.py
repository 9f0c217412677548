"""Kafka subscribers of notify's campaigns: thin, hand each polled batch to one use case."""

from __future__ import annotations

from collections.abc import Callable

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase import topics
from clientbase.runtime import ServiceRuntime

from notify.campaigns.service import CampaignService


def build_campaign_router(runtime: ServiceRuntime, service: Callable[[], CampaignService], *,
                          prefix: str = "") -> KafkaRouter:
    """The campaign subscribers (ack after the effect, through the reliability kit)."""
    router = KafkaRouter()
    options = runtime.batch_options()

    @router.subscriber(prefix + topics.CLIENTS_SEGMENTED.name, **options)
    async def on_clients_segmented(msg: KafkaMessage) -> None:
        """A client's segment changed: keep it for campaign audiences."""
        await runtime.handle_batch(msg, lambda batch: service().handle_segments(batch))

    @router.subscriber(prefix + topics.CAMPAIGNS_REQUESTED.name, **options)
    async def on_campaigns_requested(msg: KafkaMessage) -> None:
        """A campaign was requested: count it (dry run) or expand it into per-client requests."""
        await runtime.handle_batch(msg, lambda batch: service().handle_campaigns(batch))

    return router
