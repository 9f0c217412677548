"""The facts read back as one history, and the figures of periods and ranges computed from it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from metrics import definitions as d
from metrics.facts import ACTIVITIES, ASSIGNMENTS, HANDOVERS, LEADS, MANAGERS, MERGES, SALES
from metrics.periods import PeriodKind, local_midnight, period_bounds, period_starts

Facts = Mapping[str, Sequence[dict[str, Any]]]


def aware(value: datetime) -> datetime:
    """A stored instant as an aware datetime (BSON dates come back in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class History:
    """Everything the definitions need, resolved through merges."""

    customers: d.Customers
    assignments: list[d.Assignment]
    leads: list[d.Lead]
    merged: set[str]
    names: dict[str, str]
    confirmations: dict[str, tuple[datetime, list[datetime]]]
    extras: list[tuple[str, datetime, str]]
    earliest: datetime | None
    latest: datetime | None

    @classmethod
    def of(cls, facts: Facts) -> History:
        """Build the history from fact documents per collection."""
        survivor = d.survivors((m["merged_client_id"], m["client_id"], aware(m["at"]), m["_id"])
                               for m in facts.get(MERGES, ()))

        def resolve(client: str) -> str:
            return survivor.get(client, client)

        sales = [d.SaleEvent(s["_id"], s["client_id"], s["order_id"], s["kind"], aware(s["at"]), Decimal(s["amount"]),
                             s["currency"]) for s in facts.get(SALES, ())]
        assignments = [d.Assignment(a["_id"], resolve(a["client_id"]), a["manager_id"], a.get("previous_manager_id"),
                                    a["reason"], aware(a["at"])) for a in facts.get(ASSIGNMENTS, ())]
        leads = [d.Lead(x["_id"], resolve(x["client_id"]), bool(x["registered"]), aware(x["at"]),
                        tuple(x.get(f) for f in d.SOURCE_FIELDS)) for x in facts.get(LEADS, ())]  # type: ignore[misc]
        latest_name: dict[str, tuple[datetime, str, str]] = {}
        for m in facts.get(MANAGERS, ()):
            key = (aware(m["at"]), m["_id"], m["name"])
            if m["manager_id"] not in latest_name or key[:2] > latest_name[m["manager_id"]][:2]:
                latest_name[m["manager_id"]] = key
        merged = set(survivor)
        first = d.first_registrations(leads, merged)
        confirmed: dict[str, list[datetime]] = defaultdict(list)
        for x in facts.get(LEADS, ()):
            confirmed[resolve(x["client_id"])].extend(aware(c) for c in x.get("confirmed", ()))
        extras = [(h["manager_id"], aware(h["at"]), "handovers_overdue" if h["overdue"] else "handovers_opened")
                  for h in facts.get(HANDOVERS, ())]
        extras += [(a["manager_id"], aware(a["at"]), "activities") for a in facts.get(ACTIVITIES, ())]
        instants = [aware(doc["at"]) for docs in facts.values() for doc in docs]
        return cls(
            customers=d.Customers(d.purchases_of(sales, survivor)), assignments=assignments, leads=leads,
            merged=merged, names={m: v[2] for m, v in latest_name.items()},
            confirmations={c: (lead.at, confirmed.get(c, [])) for c, lead in first.items()}, extras=extras,
            earliest=min(instants, default=None), latest=max(instants, default=None),
        )

    def retention(self, kind: PeriodKind, first: date, before: date, zone: ZoneInfo, rules: d.Rules
                  ) -> list[dict[str, Any]]:
        """One retention item per period of a kind starting in [first, before)."""
        items = []
        for start_day in period_starts(kind, first, before):
            start, end = period_bounds(kind, start_day, zone)
            item = d.retention_item(self.customers, start, end, rules, self.confirmations)
            items.append({"period": kind, "period_start": start.isoformat(), "period_end": end.isoformat(), **item})
        return items

    def _extras_between(self, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"handovers_opened": 0, "handovers_overdue": 0,
                                                                 "activities": 0})
        for manager, at, name in self.extras:
            if start <= at < end:
                counts[manager][name] += 1
        return counts

    def managers(self, first: date, before: date, zone: ZoneInfo) -> list[dict[str, Any]]:
        """Per-manager items of [first, before) in the zone."""
        start, end = local_midnight(first, zone), local_midnight(before, zone)
        extras = self._extras_between(start, end)
        items = d.manager_items(self.customers, self.assignments, self.merged, self.names, start, end, extras)
        empty = {"handovers_opened": 0, "handovers_overdue": 0, "activities": 0}
        return [{**empty, **item} for item in items]

    def sources(self, first: date, before: date, zone: ZoneInfo) -> list[dict[str, Any]]:
        """Per-source items of [first, before) in the zone."""
        start, end = local_midnight(first, zone), local_midnight(before, zone)
        return d.source_items(self.customers, self.leads, self.merged, start, end)
