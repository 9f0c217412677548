"""Kafka subscribers of the rotation service: thin, hand each polled batch of raw records to one use case."""

from __future__ import annotations

from collections.abc import Sequence

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase import topics
from clientbase.events.outbound import ClientRegistered, ClientUpdated
from clientbase.kafka.reliability import Delivery
from clientbase.runtime import ServiceRuntime

from rotation.batch import RotationBatches
from rotation.hot import HotLeads, hot_leads
from rotation.repository import RotationRepository
from rotation.service import RotationService
from rotation.settings import Settings


def build_router(runtime: ServiceRuntime, settings: Settings) -> KafkaRouter:
    """The rotation service's batch subscribers, bound to its runtime."""
    router = KafkaRouter()
    rules = settings.rules()
    options = runtime.batch_options()

    def hot() -> HotLeads:
        return hot_leads(runtime, settings)

    def batches() -> RotationBatches:
        service = RotationService(RotationRepository(runtime.db), runtime.publisher, rules)
        return RotationBatches(service, runtime.reads, sweep_batch_size=settings.sweep_batch_size,
                               retry_batch_size=settings.unassigned_retry_batch_size)

    @router.subscriber(topics.MANAGERS_CHANGED.name, **options)
    async def on_managers_changed(msg: KafkaMessage) -> None:
        """Keep the roster; rotate a departed manager's clients; give waiting clients to a newly available one."""
        await runtime.handle_batch(msg, lambda batch: batches().roster(batch))

    @router.subscriber(topics.CLIENTS_REGISTERED.name, **options)
    async def on_clients_registered(msg: KafkaMessage) -> None:
        """Give new clients their first managers."""
        async def handle(batch: Sequence[Delivery]) -> None:
            await batches().client_events(topics.CLIENTS_REGISTERED, batch)
            await hot().signals(ClientRegistered, batch)
        await runtime.handle_batch(msg, handle)

    @router.subscriber(topics.CLIENTS_UPDATED.name, **options)
    async def on_clients_updated(msg: KafkaMessage) -> None:
        """Refresh the fields matching uses; register clients rotation has not seen yet."""
        async def handle(batch: Sequence[Delivery]) -> None:
            await batches().client_events(topics.CLIENTS_UPDATED, batch)
            await hot().signals(ClientUpdated, batch)
        await runtime.handle_batch(msg, handle)

    @router.subscriber(topics.CLIENTS_MERGED.name, **options)
    async def on_clients_merged(msg: KafkaMessage) -> None:
        """Keep one owner for each merged client."""
        await runtime.handle_batch(msg, lambda batch: batches().client_events(topics.CLIENTS_MERGED, batch))

    @router.subscriber(topics.SALES_ATTRIBUTED.name, **options)
    async def on_sales_attributed(msg: KafkaMessage) -> None:
        """Count sales in their clients' activity state."""
        await runtime.handle_batch(msg, lambda batch: batches().sales(batch))

    @router.subscriber(topics.ACTIVITIES_RECORDED.name, **options)
    async def on_activities_recorded(msg: KafkaMessage) -> None:
        """Track activity; close handovers on a report."""
        async def handle(batch: Sequence[Delivery]) -> None:
            await batches().activities(batch)
            await hot().activities(batch)
        await runtime.handle_batch(msg, handle)

    @router.subscriber(topics.CLIENTS_INACTIVE.name, **options)
    async def on_clients_inactive(msg: KafkaMessage) -> None:
        """The rotator: reassign or defer inactive clients."""
        await runtime.handle_batch(msg, lambda batch: batches().inactive(batch))

    return router
