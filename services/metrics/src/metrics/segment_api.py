"""The read API's segment counts: how many clients were in each segment at the end of each period."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from metrics.api import Asgi, ReadApi
from metrics.history import aware
from metrics.periods import period_bounds, period_starts
from metrics.segmenter import Segmenter

GROUPS = {"temperature": ("cold", "warm", "hot"), "activity": ("active", "passive", "lost", None),
          "kind": ("person", "company")}


def counts_at(changes: Sequence[dict[str, Any]], end: datetime) -> dict[str, Any]:
    """Clients per segment value at an instant: each client in its latest change (by change number) judged before it."""
    latest: dict[str, dict[str, Any]] = {}
    for change in changes:
        known = latest.get(change["client_id"])
        if aware(change["at"]) < end and (known is None or change.get("seq", 0) > known.get("seq", 0)):
            latest[change["client_id"]] = change
    present = [c for c in latest.values() if not c.get("gone")]
    item: dict[str, Any] = {"clients": len(present), "vip": sum(1 for c in present if c.get("vip"))}
    for group, values in GROUPS.items():
        counted = Counter(c.get(group) for c in present)
        item[group] = {str(v).lower() if v is None else v: counted.get(v, 0) for v in values}
    return item


def segment_items(changes: Sequence[dict[str, Any]], kind: Any, first: Any, before: Any,
                  zone: ZoneInfo) -> list[dict[str, Any]]:
    """One item per period: the counts at its end and how many segment changes happened in it."""
    items = []
    for start_day in period_starts(kind, first, before):
        start, end = period_bounds(kind, start_day, zone)
        moved = sum(1 for c in changes if start <= aware(c["at"]) < end and not c.get("gone"))
        items.append({"period": kind, "period_start": start.isoformat(), "period_end": end.isoformat(),
                      **counts_at(changes, end), "changes": moved})
    return items


class SegmentApi:
    """GET /metrics/segments?period=…&from=…&to=… behind the read API's token."""

    def __init__(self, api: ReadApi, segmenter: Callable[[], Segmenter]) -> None:
        self.api, self.segmenter = api, segmenter

    async def segments(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """Segment counts at the end of each period (`activity.none` counts clients who never bought)."""
        kind, first, before = self.api.parse_periods(query)
        changes = await self.segmenter().store.changes()
        return {"period": kind, "from": first.isoformat(), "to": before.isoformat(),
                "timezone": self.api.settings.timezone,
                "items": segment_items(changes, kind, first, before, self.api.zone)}

    def routes(self) -> list[tuple[str, Asgi]]:
        """The (path, app) pairs to mount."""
        return [("/metrics/segments", self.api.route(self.segments))]
