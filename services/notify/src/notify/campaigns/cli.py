"""`clientbase-notify campaign SPEC.json [--dry-run]`: count a campaign per group now, or queue it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from clientbase.events.envelope import utc_now
from clientbase.runtime import ServiceRuntime

from notify.campaigns.store import CAMPAIGN_INDEXES
from notify.campaigns.web import campaign_of, publish_campaign
from notify.campaigns.wiring import CampaignParts
from notify.repository import INDEXES
from notify.settings import Settings


def add_command(commands: Any) -> None:
    """Declare the `campaign` subcommand."""
    campaign = commands.add_parser("campaign", help="Dry-run a campaign (counts per group and suppression reason) "
                                   "or queue it on campaigns.requested.")
    campaign.add_argument("spec", type=Path, help="JSON file with the CampaignRequested fields")
    campaign.add_argument("--dry-run", action="store_true", help="only count; nothing is stored or sent")


async def run_campaign(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Run the dry run against the service's database, or publish the campaign request."""
    from notify.app import SERVICE, NotifyParts

    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    campaign = campaign_of(json.dumps({**spec, "dry_run": args.dry_run or spec.get("dry_run", False)}).encode())
    runtime = ServiceRuntime(SERVICE, settings, indexes=(*INDEXES, *CAMPAIGN_INDEXES))
    if not campaign.dry_run:
        await runtime.broker.start()
        try:
            await publish_campaign(runtime.producer, settings.topic_prefix, campaign)
        finally:
            await runtime.broker.stop()
        return {"campaign_id": campaign.campaign_id, "event_id": campaign.event_id, "queued": True}
    await runtime.connect()
    try:
        parts = NotifyParts(runtime, settings, utc_now)
        campaigns = CampaignParts(runtime, lambda: (parts.build()[0], parts.build()[2]), clock=utc_now,
                                  topic_prefix=settings.topic_prefix, page_size=settings.campaign_page_size)
        return {"campaign_id": campaign.campaign_id, "dry_run": True, **await campaigns.runner().dry_run(campaign)}
    finally:
        await runtime.close()
