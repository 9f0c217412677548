"""Kafka subscriber of the notify service: thin, hands each polled batch of raw records to its use cases.

One consumer reads every input topic, in a fixed order inside each polled batch: the roster, consents and the
clients first, then what happened to them, requests last. So an alert about a client who arrived in the same
batch (or earlier) names the client, and a replica joining or leaving rebalances the group once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from clientbase import topics
from clientbase.kafka.steps import Steps, run_steps, step_topics
from clientbase.runtime import ServiceRuntime

from notify.campaigns.service import CampaignService
from notify.service import NotifyService


@dataclass(frozen=True)
class UseCases:
    """What one polled batch is handed to: the policy pipeline's use cases and the campaigns'."""

    notify: NotifyService
    campaigns: CampaignService


# Handling order inside one polled batch: who and what can be addressed, then what happened, then the requests.
STEPS: Steps[UseCases] = (
    (topics.MANAGERS_CHANGED, lambda u, batch: u.notify.handle_managers(batch)),
    (topics.CONSENTS_CHANGED, lambda u, batch: u.notify.handle_consents(batch)),
    (topics.CLIENTS_REGISTERED, lambda u, batch: u.notify.handle_snapshots(batch)),
    (topics.CLIENTS_UPDATED, lambda u, batch: u.notify.handle_snapshots(batch)),
    (topics.CLIENTS_MERGED, lambda u, batch: u.notify.handle_merges(batch)),
    (topics.CLIENTS_SEGMENTED, lambda u, batch: u.campaigns.handle_segments(batch)),
    (topics.CLIENTS_ASSIGNED, lambda u, batch: u.notify.handle_assignments(batch)),
    (topics.HANDOVERS_OPENED, lambda u, batch: u.notify.handle_handovers_opened(batch)),
    (topics.HANDOVERS_OVERDUE, lambda u, batch: u.notify.handle_handovers_overdue(batch)),
    (topics.CLIENTS_HOT_UNTOUCHED, lambda u, batch: u.notify.handle_hot_leads(batch)),
    (topics.CAMPAIGNS_REQUESTED, lambda u, batch: u.campaigns.handle_campaigns(batch)),
    (topics.NOTIFICATIONS_REQUESTED, lambda u, batch: u.notify.handle_requests(batch)),
)


def build_router(runtime: ServiceRuntime, service: Callable[[], NotifyService],
                 campaigns: Callable[[], CampaignService], *, prefix: str = "") -> KafkaRouter:
    """The notify service's batch subscriber, bound to its runtime; the use cases are built once MongoDB is up."""
    router = KafkaRouter()

    @router.subscriber(*step_topics(STEPS, prefix), **runtime.batch_options())
    async def on_notify_inputs(msg: KafkaMessage) -> None:
        """Roster, consent, client, ownership, campaign and notification events arrived: keep the ledger, send."""
        await runtime.handle_batch(msg, lambda batch: run_steps(STEPS, UseCases(service(), campaigns()), batch, prefix))

    return router
