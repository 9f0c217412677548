"""Kafka subscriber of the rotation service: thin, hands each polled batch of raw records to its use cases.

One consumer reads every input topic, so a rotation process is one member of its consumer group: it joins
once at start (a group of one member per topic rebalanced once per topic) and a replica joining or leaving
rebalances the group once. A polled batch is handled topic by topic in a fixed order, roster first, so
managers and the clients they can take that arrive together are matched without a deferral.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase import topics
from clientbase.crypto.vault import KeyVault
from clientbase.kafka.reliability import Delivery
from clientbase.runtime import ServiceRuntime
from clientbase.topics import Topic

from rotation.batch import RotationBatches
from clientbase.kafka.publishing import PrefixedPublisher
from rotation.repository import RotationRepository
from rotation.service import RotationService
from rotation.settings import Settings

Step = Callable[[RotationBatches, Sequence[Delivery]], Awaitable[None]]

# Handling order inside one polled batch: who can take clients, then the clients, then what happened to them.
STEPS: tuple[tuple[Topic, Step], ...] = (
    (topics.MANAGERS_CHANGED, lambda b, batch: b.roster(batch)),
    (topics.CLIENTS_REGISTERED, lambda b, batch: b.client_events(topics.CLIENTS_REGISTERED, batch)),
    (topics.CLIENTS_UPDATED, lambda b, batch: b.client_events(topics.CLIENTS_UPDATED, batch)),
    (topics.CLIENTS_MERGED, lambda b, batch: b.client_events(topics.CLIENTS_MERGED, batch)),
    (topics.SALES_ATTRIBUTED, lambda b, batch: b.sales(batch)),
    (topics.ACTIVITIES_RECORDED, lambda b, batch: b.activities(batch)),
    (topics.CLIENTS_INACTIVE, lambda b, batch: b.inactive(batch)),
    (topics.CLIENTS_REASSIGN_REQUESTED, lambda b, batch: b.reassign(batch)),
)
INPUTS = tuple(topic for topic, _ in STEPS)


def build_router(runtime: ServiceRuntime, settings: Settings, vault: KeyVault | None = None) -> KafkaRouter:
    """The rotation service's batch subscriber, bound to its runtime; `vault` opens sealed client names."""
    router = KafkaRouter()
    rules = settings.rules()
    prefix = settings.topic_prefix
    publisher = PrefixedPublisher(runtime.publisher, prefix)

    def batches() -> RotationBatches:
        service = RotationService(RotationRepository(runtime.db), publisher, rules)
        return RotationBatches(service, runtime.reads, sweep_batch_size=settings.sweep_batch_size,
                               retry_batch_size=settings.unassigned_retry_batch_size, vault=vault)

    async def handle(batch: Sequence[Delivery]) -> None:
        """Hand each topic's part of the batch to its use case, in the order of STEPS."""
        parts: dict[str, list[Delivery]] = {}
        for delivery in batch:
            parts.setdefault(delivery.topic.removeprefix(prefix), []).append(delivery)
        handler = batches()
        for topic, step in STEPS:
            if part := parts.get(topic.name):
                await step(handler, part)

    @router.subscriber(*(prefix + topic.name for topic in INPUTS), **runtime.batch_options())
    async def on_rotation_inputs(msg: KafkaMessage) -> None:
        """Roster, client, sale, activity, inactivity and manual reassignment events arrived: keep ownership right."""
        await runtime.handle_batch(msg, handle)

    return router
