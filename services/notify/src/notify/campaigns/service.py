"""Notify's campaign use cases over one batch each: learn segments, run requested campaigns."""

from __future__ import annotations

from collections.abc import Sequence

from clientbase.events.inbound import CampaignRequested
from clientbase.events.outbound import ClientSegmented
from clientbase.kafka.reliability import Delivery

from notify.campaigns.audience import segment_fields
from notify.campaigns.runner import CampaignRunner
from notify.repository import CLIENTS, NotifyRepository


class CampaignService:
    """Keeps each client's segment (from `clients.segmented`) and runs the campaigns of `campaigns.requested`."""

    def __init__(self, repo: NotifyRepository, runner: CampaignRunner) -> None:
        self.repo, self.runner = repo, runner

    async def handle_segments(self, batch: Sequence[Delivery]) -> None:
        """A client's segment changed: keep the latest per client on its client document (one bulk write)."""
        latest: dict[str, ClientSegmented] = {}
        for d in batch:
            event = ClientSegmented.model_validate_json(d.body)
            latest[event.client_id] = event  # a partition delivers one client's changes in order
        await self.repo.upsert_snapshots(CLIENTS, [segment_fields(e) for e in latest.values()])

    async def handle_campaigns(self, batch: Sequence[Delivery]) -> None:
        """Campaigns requested: run each (a real run is idempotent per campaign and client)."""
        for d in batch:
            await self.runner.handle(CampaignRequested.model_validate_json(d.body))
