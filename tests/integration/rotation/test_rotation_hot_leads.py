"""Hot leads on the real stack: untouched, the owner is alerted after N business minutes and the head of sales
after 2N; a lead its owner worked with in time alerts nobody; a repeated check publishes nothing new."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from clientbase import topics
from clientbase.events.inbound import ActivityRecorded

from rotation import cli
from rotation_live_kit import Live, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

MONDAY_10_MOSCOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


async def hot_check(live: Live, at: datetime) -> dict[str, int]:
    out = io.StringIO()
    assert await cli.run(["hot-check", "--as-of", at.isoformat()], live.settings, out) == 0
    return json.loads(out.getvalue())


async def test_untouched_hot_lead_alerts_owner_then_head_and_a_worked_one_alerts_nobody(live: Live) -> None:
    owner = live.manager("owner", live.grade)
    async with live.app():
        await live.send(topics.MANAGERS_CHANGED, owner, key=owner.manager_id)

        async def on_roster() -> bool:
            return await live.db["managers"].count_documents({"_id": owner.manager_id}) == 1
        await wait_for(on_roster)
        for name in ("waits", "answered"):
            event = live.registered(name, MONDAY_10_MOSCOW, "owner").model_copy(update={"hot": True})
            await live.send(topics.CLIENTS_REGISTERED, event, key=event.client_id)
        call = ActivityRecorded(event_id=str(uuid.uuid4()), occurred_at=MONDAY_10_MOSCOW + timedelta(minutes=5),
                                client_id=live.id("answered"), manager_id=owner.manager_id, kind="call")
        await live.send(topics.ACTIVITIES_RECORDED, call, key=call.client_id)

        async def watched() -> bool:
            owned = await live.db["clients"].count_documents({"manager_id": owner.manager_id})
            touched = await live.db["hot_leads"].count_documents({f"touched_by.{owner.manager_id}": {"$exists": True}})
            hot = await live.db["hot_leads"].count_documents({"hot_at": {"$exists": True}})
            return owned == 2 and touched == 1 and hot == 2
        await wait_for(watched, timeout=90)

        assert (await hot_check(live, MONDAY_10_MOSCOW + timedelta(minutes=14)))["published"] == 0
        assert (await hot_check(live, MONDAY_10_MOSCOW + timedelta(minutes=16)))["published"] == 1
        assert (await hot_check(live, MONDAY_10_MOSCOW + timedelta(minutes=17)))["published"] == 0
        assert (await hot_check(live, MONDAY_10_MOSCOW + timedelta(minutes=31)))["published"] == 1

        async def both_levels() -> bool:
            return len(live.mine(topics.CLIENTS_HOT_UNTOUCHED)) >= 2
        await wait_for(both_levels)
        events = live.mine(topics.CLIENTS_HOT_UNTOUCHED)
        assert [(e["client_id"], e["level"], e["manager_id"]) for e in events] == [
            (live.id("waits"), 1, owner.manager_id), (live.id("waits"), 2, owner.manager_id)]
        assert [e["business_minutes"] for e in events] == [16, 31]
