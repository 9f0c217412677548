"""MongoDB documents of campaigns: one per campaign (progress and report) and one per addressed client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from clientbase.mongo import IndexSpec
from clientbase.mongo_writes import insert_new

from notify.repository import CLIENTS

CAMPAIGNS = "campaigns"
MEMBERS = "campaign_members"
CAMPAIGN_INDEXES = (IndexSpec(MEMBERS, [("campaign_id", 1)], name="member_campaign"),
                    IndexSpec(CAMPAIGNS, [("status", 1)], name="campaign_status"))
Doc = dict[str, Any]


class CampaignStore:
    """Reads the audience and keeps each campaign's progress; every write is idempotent per (campaign, client)."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db

    async def audience_page(self, query: Doc, after: str | None, limit: int) -> list[Doc]:
        """Up to `limit` matching clients after a client id, in id order."""
        page = {**query, "_id": {"$gt": after}} if after is not None else query
        return await self.db[CLIENTS].find(page, projection={"segment": 1}).sort("_id", 1).limit(limit).to_list()

    async def open(self, campaign_id: str, fields: Doc) -> Doc:
        """The campaign's document, created on its first request (a rerun finds the existing one)."""
        await insert_new(self.db[CAMPAIGNS], [{"_id": campaign_id, "status": "expanding", **fields}])
        return await self.db[CAMPAIGNS].find_one({"_id": campaign_id}) or {}

    async def add_members(self, campaign_id: str, members: Sequence[tuple[str, str, str]]) -> None:
        """Remember the (request id, client id, group) the campaign addressed, once each."""
        await insert_new(self.db[MEMBERS], [{"_id": rid, "campaign_id": campaign_id, "client_id": cid, "group": g}
                                            for rid, cid, g in members])

    async def members(self, campaign_id: str) -> list[Doc]:
        """Every member of a campaign."""
        return await self.db[MEMBERS].find({"campaign_id": campaign_id}).to_list()

    async def set(self, campaign_id: str, fields: Doc) -> None:
        """Record progress or the report."""
        await self.db[CAMPAIGNS].update_one({"_id": campaign_id}, {"$set": fields})

    async def get(self, campaign_id: str) -> Doc | None:
        """A campaign's document."""
        return await self.db[CAMPAIGNS].find_one({"_id": campaign_id})

    async def complete(self, campaign_id: str, report: Doc, at: datetime) -> bool:
        """Mark an expanded campaign completed with its report; whether this call did (one checker wins)."""
        result = await self.db[CAMPAIGNS].update_one({"_id": campaign_id, "status": "expanded"}, {"$set": {
            "status": "completed", "report": report, "completed_at": at, "reported": False}})
        return result.modified_count == 1

    async def expanded(self, unreported_before: datetime) -> list[Doc]:
        """Campaigns expanded whose messages are not all final yet, and completed ones whose report a crash lost."""
        return await self.db[CAMPAIGNS].find({"$or": [
            {"status": "expanded"},
            {"status": "completed", "reported": False, "completed_at": {"$lt": unreported_before}}]}).to_list()
