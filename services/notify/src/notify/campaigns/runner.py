"""Runs campaigns: a dry run counts, a real run expands the audience page by page into the policy pipeline."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from clientbase import topics
from clientbase.events.envelope import derived_event_id
from clientbase.events.inbound import CampaignRequested
from clientbase.events.outbound import CampaignCompleted

from notify.campaigns.audience import audience_query, requests_of
from notify.campaigns.store import CampaignStore
from notify.pipeline import Pipeline, Publisher
from notify.repository import NotifyRepository

log = structlog.get_logger(__name__)
SOURCE = "notify"
UNREPORTED_GRACE = timedelta(minutes=1)  # a report this late lost its publish to a crash


@dataclasses.dataclass
class Tally:
    """Counts of a campaign: clients per group, messages per outcome and reason."""

    groups: Counter[str] = dataclasses.field(default_factory=Counter)
    sent: int = 0
    suppressed: Counter[str] = dataclasses.field(default_factory=Counter)
    deferred: Counter[str] = dataclasses.field(default_factory=Counter)
    failed: Counter[str] = dataclasses.field(default_factory=Counter)

    def add(self, verdict: str, reason: str | None) -> None:
        """Count one message's (expected) outcome."""
        if verdict == "send" or verdict == "sent":
            self.sent += 1
        elif verdict == "suppressed":
            self.suppressed[reason or ""] += 1
        elif verdict == "failed":
            self.failed[reason or ""] += 1
        else:
            self.deferred[reason or "recipient"] += 1

    def report(self) -> dict[str, Any]:
        """The counts as the fields of `campaigns.completed`."""
        return {"groups": dict(self.groups), "sent": self.sent, "suppressed": dict(self.suppressed),
                "deferred": dict(self.deferred), "failed": dict(self.failed)}


class CampaignRunner:
    """Dry runs, real runs and the final report of campaigns; a real run is idempotent per (campaign, client)."""

    def __init__(self, store: CampaignStore, repo: NotifyRepository, pipeline: Pipeline, publisher: Publisher, *,
                 clock: Callable[[], datetime], topic_prefix: str = "", page_size: int = 200) -> None:
        self.store, self.repo, self.pipeline, self.publisher = store, repo, pipeline, publisher
        self.clock, self.page_size = clock, page_size
        self.topic = dataclasses.replace(topics.CAMPAIGNS_COMPLETED, name=topic_prefix + topics.CAMPAIGNS_COMPLETED.name)

    async def dry_run(self, campaign: CampaignRequested) -> dict[str, Any]:
        """Count the audience per group and how the pipeline would decide each message now; nothing is stored or sent."""
        tally, now, after = Tally(), self.clock(), None
        query = audience_query(campaign.audience)
        while page := await self.store.audience_page(query, after, self.page_size):
            after = page[-1]["_id"]
            planned = requests_of(campaign, page, now)
            tally.groups.update(group for group, _ in planned)
            for decision in await self.pipeline.decide([r for _, r in planned], now):
                tally.add(decision.verdict, decision.reason)
        return tally.report()

    async def handle(self, campaign: CampaignRequested) -> None:
        """Run a requested campaign: a dry run publishes its counts, a real run expands and reports when final."""
        if campaign.dry_run:
            await self._complete(campaign.campaign_id, campaign.event_id, True, await self.dry_run(campaign))
            return
        doc = await self.store.open(campaign.campaign_id, {"channel": campaign.channel, "cause": campaign.event_id,
                                                           "requested_at": campaign.occurred_at})
        if doc.get("status") == "completed":  # a rerun: every message was decided before; republish the report
            await self._complete(campaign.campaign_id, doc["cause"], False, doc["report"])
            return
        query, after, addressed, now = audience_query(campaign.audience), None, 0, self.clock()
        while page := await self.store.audience_page(query, after, self.page_size):
            after = page[-1]["_id"]
            planned = requests_of(campaign, page, now)
            await self.store.add_members(campaign.campaign_id, [(r.request_id, r.client_id or "", g)
                                                                for g, r in planned])
            await self.pipeline.submit([r for _, r in planned])
            addressed += len(planned)
            await self.store.set(campaign.campaign_id, {"addressed": addressed, "last_client": after})
        await self.store.set(campaign.campaign_id, {"status": "expanded", "expanded_at": self.clock()})
        log.info("notify.campaign_expanded", campaign_id=campaign.campaign_id, addressed=addressed)
        await self.check(campaign.campaign_id)

    async def progress(self, campaign_id: str) -> dict[str, Any] | None:
        """The campaign's document with the current counts of its messages."""
        doc = await self.store.get(campaign_id)
        if doc is None:
            return None
        tally, pending = await self._tally(campaign_id)
        return {"campaign_id": campaign_id, "status": doc.get("status"), "addressed": doc.get("addressed", 0),
                "pending": pending, **tally.report()}

    async def check(self, campaign_id: str) -> bool:
        """Publish the final report once every message of an expanded campaign is final; whether it is final.

        The checker that moves the campaign to `completed` publishes the report (others seeing it final leave it), so
        the consumer and the scheduler's tick never report one campaign twice; a report a crash lost is published by
        the tick once the campaign has stayed unreported for a while.
        """
        doc = await self.store.get(campaign_id)
        if doc is None or doc.get("status") not in ("expanded", "completed"):
            return False
        if doc["status"] == "completed":
            if doc.get("reported") is False and doc["completed_at"] < self._unreported_before():
                await self._report(campaign_id, doc["cause"], doc["report"])
            return True
        tally, pending = await self._tally(campaign_id)
        if pending:
            return False
        report = tally.report()
        if await self.store.complete(campaign_id, report, self.clock()):
            await self._report(campaign_id, doc["cause"], report)
        return True

    async def check_open(self) -> None:
        """Finish every expanded campaign whose messages are all final (the scheduler's tick)."""
        for doc in await self.store.expanded(self._unreported_before()):
            await self.check(doc["_id"])

    def _unreported_before(self) -> datetime:
        """A campaign completed before this and still unreported lost its report to a crash."""
        return self.clock() - UNREPORTED_GRACE

    async def _report(self, campaign_id: str, cause: str, report: dict[str, Any]) -> None:
        """Publish the final report and note that it went."""
        await self._complete(campaign_id, cause, False, report)
        await self.store.set(campaign_id, {"reported": True})

    async def _tally(self, campaign_id: str) -> tuple[Tally, int]:
        """The outcomes of a campaign's messages so far, and how many are not final yet (two reads)."""
        members = await self.store.members(campaign_id)
        requests = await self.repo.requests(m["_id"] for m in members)
        tally, pending = Tally(), 0
        for member in members:
            tally.groups[member["group"]] += 1
            request = requests.get(member["_id"], {})
            outcome = request.get("outcome")
            if request.get("status") != "done" or not outcome:
                pending += 1
                continue
            tally.add(outcome["status"], outcome.get("reason"))
        return tally, pending

    async def _complete(self, campaign_id: str, cause: str, dry_run: bool, report: dict[str, Any]) -> None:
        """Publish the report to `campaigns.completed`, with an id derived from the campaign (and the dry run)."""
        kind = f"dry:{cause}" if dry_run else "final"
        event = CampaignCompleted.create(
            source=SOURCE, correlation_id=cause, causation_id=cause,
            event_id=derived_event_id("notify.campaign-completed", campaign_id, kind), campaign_id=campaign_id,
            dry_run=dry_run, **report)
        await self.publisher.publish_all([(self.topic, event, campaign_id)])
        log.info("notify.campaign_completed", campaign_id=campaign_id, dry_run=dry_run, sent=report["sent"])
