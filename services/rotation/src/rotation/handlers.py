"""Kafka subscriber of the rotation service: thin, hands each polled batch of raw records to its use cases.

One consumer reads every input topic, so a rotation process is one member of its consumer group: it joins
once at start (a group of one member per topic rebalanced once per topic) and a replica joining or leaving
rebalances the group once. A polled batch is handled topic by topic in a fixed order, roster first, so
managers and the clients they can take that arrive together are matched without a deferral.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase import topics
from clientbase.crypto.vault import KeyVault
from clientbase.events.outbound import ClientRegistered, ClientUpdated
from clientbase.kafka.publishing import PrefixedPublisher
from clientbase.kafka.reliability import Delivery
from clientbase.kafka.steps import Steps, run_steps, step_topics
from clientbase.runtime import ServiceRuntime

from rotation.batch import RotationBatches
from rotation.erasure import erase_clients
from rotation.hot import HotLeads, hot_leads
from rotation.repository import RotationRepository
from rotation.service import RotationService
from rotation.settings import Settings



@dataclass(frozen=True)
class UseCases:
    """What one polled batch is handed to: rotation's batch use cases and the hot-lead watch."""

    rotation: RotationBatches
    hot: HotLeads


async def _registered(u: UseCases, batch: Sequence[Delivery]) -> None:
    """New clients get their first managers; a hot one starts the hot-lead clock."""
    await u.rotation.client_events(topics.CLIENTS_REGISTERED, batch)
    await u.hot.signals(ClientRegistered, batch)


async def _updated(u: UseCases, batch: Sequence[Delivery]) -> None:
    """Refresh the fields matching uses; a new hot signal starts the clock again."""
    await u.rotation.client_events(topics.CLIENTS_UPDATED, batch)
    await u.hot.signals(ClientUpdated, batch)


async def _activities(u: UseCases, batch: Sequence[Delivery]) -> None:
    """Track activity, close handovers on a report, and note who touched a hot client."""
    await u.rotation.activities(batch)
    await u.hot.activities(batch)


# Handling order inside one polled batch: who can take clients, then the clients, then what happened to them.
STEPS: Steps[UseCases] = (
    (topics.MANAGERS_CHANGED, lambda u, batch: u.rotation.roster(batch)),
    (topics.CLIENTS_REGISTERED, _registered),
    (topics.CLIENTS_UPDATED, _updated),
    (topics.CLIENTS_MERGED, lambda u, batch: u.rotation.client_events(topics.CLIENTS_MERGED, batch)),
    (topics.SALES_ATTRIBUTED, lambda u, batch: u.rotation.sales(batch)),
    (topics.ACTIVITIES_RECORDED, _activities),
    (topics.CLIENTS_INACTIVE, lambda u, batch: u.rotation.inactive(batch)),
    (topics.CLIENTS_REASSIGN_REQUESTED, lambda u, batch: u.rotation.reassign(batch)),
    (topics.CLIENTS_ERASURE_REQUESTED, lambda u, batch: erase_clients(u.rotation, batch)),
)


def build_router(runtime: ServiceRuntime, settings: Settings, vault: KeyVault | None = None) -> KafkaRouter:
    """The rotation service's batch subscriber, bound to its runtime; `vault` opens sealed client names."""
    router = KafkaRouter()
    rules = settings.rules()
    prefix = settings.topic_prefix
    publisher = PrefixedPublisher(runtime.publisher, prefix)

    def use_cases() -> UseCases:
        service = RotationService(RotationRepository(runtime.db), publisher, rules)
        return UseCases(RotationBatches(service, runtime.reads, sweep_batch_size=settings.sweep_batch_size,
                                        retry_batch_size=settings.unassigned_retry_batch_size, vault=vault),
                        hot_leads(runtime, settings))

    @router.subscriber(*step_topics(STEPS, prefix), **runtime.batch_options())
    async def on_rotation_inputs(msg: KafkaMessage) -> None:
        """Roster, client, sale, activity, inactivity and manual reassignment events arrived: keep ownership right."""
        await runtime.handle_batch(msg, lambda batch: run_steps(STEPS, use_cases(), batch, prefix))

    return router
