"""Kafka subscribers of the notify service: thin, hand each polled batch to one use case."""

from __future__ import annotations

from collections.abc import Callable

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase import topics
from clientbase.runtime import ServiceRuntime

from notify.service import NotifyService


def build_router(runtime: ServiceRuntime, service: Callable[[], NotifyService], *, prefix: str = "") -> KafkaRouter:
    """The notify service's batch subscribers, bound to its runtime; `service` is built once MongoDB is up."""
    router = KafkaRouter()
    options = runtime.batch_options()

    @router.subscriber(prefix + topics.NOTIFICATIONS_REQUESTED.name, **options)
    async def on_notifications_requested(msg: KafkaMessage) -> None:
        """Someone asked for an SMS or email: run the policy pipeline, then send or park each request once."""
        await runtime.handle_batch(msg, lambda batch: service().handle_requests(batch))

    @router.subscriber(prefix + topics.CONSENTS_CHANGED.name, **options)
    async def on_consents_changed(msg: KafkaMessage) -> None:
        """A contact point opted in or out elsewhere: append it to the consent ledger."""
        await runtime.handle_batch(msg, lambda batch: service().handle_consents(batch))

    @router.subscriber(prefix + topics.CLIENTS_REGISTERED.name, prefix + topics.CLIENTS_UPDATED.name, **options)
    async def on_client_snapshots(msg: KafkaMessage) -> None:
        """A client record was created or changed: keep its contact points and consent evidence."""
        await runtime.handle_batch(msg, lambda batch: service().handle_snapshots(batch))

    @router.subscriber(prefix + topics.CLIENTS_MERGED.name, **options)
    async def on_clients_merged(msg: KafkaMessage) -> None:
        """Two clients were one: address the survivor from now on."""
        await runtime.handle_batch(msg, lambda batch: service().handle_merges(batch))

    @router.subscriber(prefix + topics.MANAGERS_CHANGED.name, **options)
    async def on_managers_changed(msg: KafkaMessage) -> None:
        """The roster changed: keep managers' contact points and the heads of sales."""
        await runtime.handle_batch(msg, lambda batch: service().handle_managers(batch))

    @router.subscriber(prefix + topics.CLIENTS_ASSIGNED.name, **options)
    async def on_clients_assigned(msg: KafkaMessage) -> None:
        """A client got a new owner: tell the manager."""
        await runtime.handle_batch(msg, lambda batch: service().handle_assignments(batch))

    @router.subscriber(prefix + topics.HANDOVERS_OPENED.name, **options)
    async def on_handovers_opened(msg: KafkaMessage) -> None:
        """A handover opened: park a reminder for the day before its deadline."""
        await runtime.handle_batch(msg, lambda batch: service().handle_handovers_opened(batch))

    @router.subscriber(prefix + topics.HANDOVERS_OVERDUE.name, **options)
    async def on_handovers_overdue(msg: KafkaMessage) -> None:
        """A handover deadline passed: tell the head of sales."""
        await runtime.handle_batch(msg, lambda batch: service().handle_handovers_overdue(batch))

    @router.subscriber(prefix + topics.CLIENTS_HOT_UNTOUCHED.name, **options)
    async def on_hot_leads_untouched(msg: KafkaMessage) -> None:
        """A hot lead waits: alert its owner (level 1), then the head of sales (level 2)."""
        await runtime.handle_batch(msg, lambda batch: service().handle_hot_leads(batch))

    return router
