"""Kafka subscribers of the rotation service: thin, parse the event and call one use case."""

from __future__ import annotations

from faststream.kafka import KafkaRouter
from faststream.middlewares import AckPolicy

from clientbase import topics
from clientbase.events.inbound import ActivityRecorded, ManagerChanged
from clientbase.events.outbound import ClientInactive, ClientMerged, ClientRegistered, ClientUpdated, SaleAttributed
from clientbase.runtime import ServiceRuntime

from rotation.repository import RotationRepository
from rotation.service import RotationService
from rotation.settings import Settings
from rotation.sweep import Sweeper


def build_router(runtime: ServiceRuntime, settings: Settings) -> KafkaRouter:
    """The rotation service's subscribers, bound to its runtime."""
    router = KafkaRouter()
    rules = settings.rules()
    options = {"group_id": settings.group_id, "ack_policy": AckPolicy.NACK_ON_ERROR, "auto_offset_reset": "earliest"}

    def service() -> RotationService:
        return RotationService(RotationRepository(runtime.db), runtime.publisher, rules)

    @router.subscriber(topics.MANAGERS_CHANGED.name, **options)
    async def on_manager_changed(event: ManagerChanged) -> None:
        """Keep the roster; a departed manager's clients are rotated at once."""
        svc = service()
        if await svc.change_manager(event) and event.status == "departed":
            await Sweeper(svc, settings.sweep_batch_size).rotate_departed(
                event.manager_id, event.occurred_at, event.correlation_id or event.event_id)

    @router.subscriber(topics.CLIENTS_REGISTERED.name, **options)
    async def on_client_registered(event: ClientRegistered) -> None:
        """Give a new client its first manager."""
        await service().register_client(event)

    @router.subscriber(topics.CLIENTS_UPDATED.name, **options)
    async def on_client_updated(event: ClientUpdated) -> None:
        """Refresh the fields matching uses."""
        await service().update_client(event)

    @router.subscriber(topics.CLIENTS_MERGED.name, **options)
    async def on_client_merged(event: ClientMerged) -> None:
        """Keep one owner for a merged client."""
        await service().merge(event)

    @router.subscriber(topics.SALES_ATTRIBUTED.name, **options)
    async def on_sale_attributed(event: SaleAttributed) -> None:
        """Count the sale in the client's activity state."""
        await service().record_sale(event)

    @router.subscriber(topics.ACTIVITIES_RECORDED.name, **options)
    async def on_activity_recorded(event: ActivityRecorded) -> None:
        """Track activity; close handovers on a report."""
        await service().record_activity(event)

    @router.subscriber(topics.CLIENTS_INACTIVE.name, **options)
    async def on_client_inactive(event: ClientInactive) -> None:
        """The rotator: reassign or defer an inactive client."""
        await service().rotate(event)

    return router
