"""The hot-lead rule as pure functions: N business minutes for the owner, 2N before the head of sales is told."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rotation.business_time import BusinessHours


@dataclasses.dataclass(frozen=True)
class HotRules:
    """N, the business minutes an owner has to answer a hot lead, and the zones of the owners' regions."""

    minutes: int = 15
    hours: BusinessHours = BusinessHours()
    company_zone: str = "Europe/Moscow"
    region_zones: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def zone_of(self, regions: Sequence[str]) -> ZoneInfo:
        """The zone of the owner's first region with a known zone, else the company's."""
        for region in regions:
            if region.strip().casefold() in self.region_zones:
                return ZoneInfo(self.region_zones[region.strip().casefold()])
        return ZoneInfo(self.company_zone)


def due_level(lead: Mapping[str, Any], client: Mapping[str, Any], owner: Mapping[str, Any] | None,
              as_of: datetime, rules: HotRules) -> tuple[int, int]:
    """The escalation level a hot lead has reached (0, 1 or 2) and the business minutes it waited.

    Nothing is due when the client has no owner, its owner worked with it after the signal, or it bought after it.
    """
    hot_at, manager = lead["hot_at"], client.get("manager_id")
    if not manager or owner is None:
        return 0, 0
    touched = (lead.get("touched_by") or {}).get(manager)
    bought = client.get("last_sale_at")
    if (touched and touched >= hot_at) or (bought and bought > hot_at):
        return 0, 0
    minutes = rules.hours.minutes_between(hot_at, as_of, rules.zone_of(owner.get("regions") or ()))
    return (2 if minutes >= 2 * rules.minutes else 1 if minutes >= rules.minutes else 0), minutes
