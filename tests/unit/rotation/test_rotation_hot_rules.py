"""The hot-lead rule: business minutes of the owner's region, and the levels they reach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rotation.business_time import BusinessHours
from rotation.hot_rules import HotRules, due_level

FRIDAY_1750_MOSCOW = datetime(2026, 11, 27, 14, 50, tzinfo=UTC)
RULES = HotRules(minutes=15, region_zones={"ru-sve": "Asia/Yekaterinburg"})


def test_business_minutes_skip_nights_and_weekends() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    monday_0906 = datetime(2026, 11, 30, 6, 6, tzinfo=UTC)
    assert BusinessHours().minutes_between(FRIDAY_1750_MOSCOW, monday_0906, moscow) == 16
    assert BusinessHours().minutes_between(monday_0906, FRIDAY_1750_MOSCOW, moscow) == 0


def test_levels_follow_the_owner_region_and_stop_on_activity_or_purchase() -> None:
    lead = {"hot_at": datetime(2026, 11, 23, 4, 0, tzinfo=UTC)}  # 09:00 in Yekaterinburg, 07:00 in Moscow
    client = {"manager_id": "m1"}
    east, west = {"regions": ["RU-SVE"]}, {"regions": []}
    at = lead["hot_at"] + timedelta(minutes=31)
    assert due_level(lead, client, east, at, RULES) == (2, 31)
    assert due_level(lead, client, west, at, RULES) == (0, 0)
    assert due_level({**lead, "touched_by": {"m1": at}}, client, east, at, RULES) == (0, 0)
    assert due_level({**lead, "touched_by": {"m2": at}}, client, east, at, RULES)[0] == 2
    assert due_level(lead, {**client, "last_sale_at": at}, east, at, RULES) == (0, 0)
    assert due_level(lead, {}, east, at, RULES) == (0, 0)
