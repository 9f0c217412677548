"""An independent reference for the metrics figures: plain Python over the event list, from DESIGN §2.5 alone."""

from __future__ import annotations

import json
import statistics
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
ROTATIONS = {"no_first_sale", "no_repeat_sale", "manager_departed"}


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _pct(a: float, b: float) -> float | None:
    return None if b == 0 else round(100 * a / b, 2)


class Reference:
    """The figures of an event list, computed naively."""

    def __init__(self, events: list[tuple[str, bytes]], zone: str, window_days: int = 365) -> None:
        self.zone = ZoneInfo(zone)
        self.w = timedelta(days=window_days)
        seen: dict[str, tuple[str, dict[str, Any]]] = {}
        for topic, body in events:
            data = json.loads(body)
            seen.setdefault(data["event_id"], (topic, data))
        self.by_topic: dict[str, list[dict[str, Any]]] = {}
        for topic, data in seen.values():
            self.by_topic.setdefault(topic, []).append(data)
        merges: dict[str, tuple[datetime, str, str]] = {}
        for m in self.of("clients.merged"):
            candidate = (_ts(m["occurred_at"]), m["event_id"], m["client_id"])
            if m["merged_client_id"] not in merges or candidate < merges[m["merged_client_id"]]:
                merges[m["merged_client_id"]] = candidate
        self.merges = {k: v[2] for k, v in merges.items()}
        orders: dict[str, list[dict[str, Any]]] = {}
        for s in self.of("sales.attributed"):
            if s["kind"] != "payment":
                orders.setdefault(s["order_id"], []).append(s)
        self.purchases: list[tuple[str, datetime, Decimal, str]] = []
        for events_of_order in orders.values():
            events_of_order.sort(key=lambda s: (_ts(s["occurred_at"]), s["event_id"]))
            first = events_of_order[0]
            priced = [s for s in events_of_order if s["kind"] == "order"] or [first]
            self.purchases.append((self.who(first["client_id"]), _ts(first["occurred_at"]),
                                   Decimal(str(priced[0]["amount"])), priced[0]["currency"]))

    def of(self, topic: str) -> list[dict[str, Any]]:
        return self.by_topic.get(topic, [])

    def who(self, client: str) -> str:
        hops = 0
        while client in self.merges and hops < 100:
            client, hops = self.merges[client], hops + 1
        return client

    def buys(self, client: str) -> list[datetime]:
        return sorted(at for c, at, _, _ in self.purchases if c == client)

    def customers(self) -> set[str]:
        return {c for c, _, _, _ in self.purchases}

    def active(self, client: str, t: datetime, window: timedelta | None = None) -> bool:
        before = [b for b in self.buys(client) if b <= t]
        return bool(before) and t - max(before) <= (window or self.w)

    def flow(self, start: datetime, end: datetime) -> tuple[int, int, int, int]:
        s = e = n = lost = 0
        for c in self.customers():
            a, b = self.active(c, start), self.active(c, end)
            new = start <= self.buys(c)[0] < end
            s, e, n = s + a, e + b, n + new
            if (a or new) and not b:
                lost += 1
        return s, e, n, lost

    def bounds(self, kind: str, first: date, before: date) -> list[tuple[datetime, datetime]]:
        """Periods of a kind starting in [first, before), walked day by day."""
        def starts_period(day: date) -> bool:
            return {"week": day.isoweekday() == 1, "month": day.day == 1,
                    "quarter": day.day == 1 and day.month in (1, 4, 7, 10),
                    "year": day.day == 1 and day.month == 1}[kind]
        days = [first + DAY * i for i in range((before - first).days)]
        starts = [day for day in days if starts_period(day)]
        result = []
        for day in starts:
            nxt = day + DAY
            while not starts_period(nxt):
                nxt += DAY
            result.append((datetime(day.year, day.month, day.day, tzinfo=self.zone),
                           datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.zone)))
        return result

    def retention(self, kind: str, first: date, before: date) -> list[dict[str, Any]]:
        return [self.period(kind, start, end) for start, end in self.bounds(kind, first, before)]

    def period(self, kind: str, start: datetime, end: datetime) -> dict[str, Any]:
        s, e, n, lost = self.flow(start, end)
        inside = [p for p in self.purchases if start <= p[1] < end]
        revenue: dict[str, Decimal] = {}
        count: dict[str, int] = {}
        for _, _, amount, currency in inside:
            revenue[currency] = revenue.get(currency, Decimal(0)) + amount
            count[currency] = count.get(currency, 0) + 1
        buyers = {p[0] for p in inside}
        year = [p for p in self.purchases if end - timedelta(days=365) <= p[1] < end]
        year_buyers = {p[0] for p in year}
        upto = [c for c in self.customers() if self.buys(c)[0] < end]
        repeat = [c for c in upto if len([b for b in self.buys(c) if b < end]) >= 2]
        gaps = []
        for c in buyers:
            mine = sorted(p[1] for p in inside if p[0] == c)
            gaps += [(b - a).total_seconds() / 86400 for a, b in zip(mine, mine[1:])]
        ys, _, _, ylost = self.flow(end - timedelta(days=365), end)
        ltv = None
        if ys and e:
            life = 10.0 if ylost == 0 else min(ys / ylost, 10.0)
            yrev: dict[str, Decimal] = {}
            for _, _, amount, currency in year:
                yrev[currency] = yrev.get(currency, Decimal(0)) + amount
            ltv = {c: round(float(v) / e * life, 2) for c, v in sorted(yrev.items())}
        recent = sum(1 for c in self.customers() if self.active(c, end, timedelta(days=90)))
        registered = self.first_registrations()
        reg_before = [c for c, r in registered.items() if _ts(r["occurred_at"]) < end]
        contacted = 0
        for c in reg_before:
            marks = [_ts(x["last_confirmed_at"]) for t in ("clients.registered", "clients.updated") for x in self.of(t)
                     if self.who(x["client_id"]) == c and x.get("last_confirmed_at")]
            contacted += any(m <= end and end - m <= timedelta(days=183) for m in marks)
        return {
            "period": kind, "period_start": start.isoformat(), "period_end": end.isoformat(),
            "customers_start": s, "customers_end": e, "new_customers": n, "lost_customers": lost,
            "crr": _pct(e - n, s), "churn_rate": _pct(lost, s), "orders": len(inside),
            "revenue": {c: round(float(v), 2) for c, v in sorted(revenue.items())},
            "revenue_total": round(float(sum(revenue.values())), 2) if len(revenue) == 1 else None,
            "average_order_value": {c: round(float(revenue[c] / count[c]), 2) for c in sorted(revenue)},
            "buyers": len(buyers),
            "purchase_frequency": round(len(inside) / len(buyers), 2) if buyers else None,
            "repeat_customer_rate": _pct(len(repeat), len(upto)),
            "days_between_purchases": round(365 / (len(year) / len(year_buyers)), 2) if year_buyers else None,
            "median_days_between_purchases": round(statistics.median(gaps), 2) if gaps else None,
            "ltv": ltv, "active_customers": recent, "passive_customers": e - recent,
            "actual_contact_rate": _pct(contacted, len(reg_before)),
        }

    def first_registrations(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for r in sorted(self.of("clients.registered"), key=lambda r: (_ts(r["occurred_at"]), r["event_id"])):
            c = self.who(r["client_id"])
            if c not in self.merges and c not in found:
                found[c] = r
        return found

    def managers(self, first: date, before: date) -> list[dict[str, Any]]:
        start = datetime(first.year, first.month, first.day, tzinfo=self.zone)
        end = datetime(before.year, before.month, before.day, tzinfo=self.zone)
        assigned = sorted(self.of("clients.assigned"), key=lambda a: (_ts(a["occurred_at"]), a["event_id"]))
        names: dict[str, str] = {}
        for m in sorted(self.of("managers.changed"), key=lambda m: (_ts(m["occurred_at"]), m["event_id"])):
            names[m["manager_id"]] = m["name"]
        everyone = set(names) | {a["manager_id"] for a in assigned} | {
            a["previous_manager_id"] for a in assigned if a.get("previous_manager_id")}
        result = []
        for m in sorted(everyone):
            holder: dict[str, str] = {}
            for a in assigned:
                if _ts(a["occurred_at"]) < end:
                    holder[self.who(a["client_id"])] = a["manager_id"]
            held = sum(1 for c, owner in holder.items() if owner == m and c not in self.merges)
            window = [a for a in assigned if start <= _ts(a["occurred_at"]) < end]
            mine = [a for a in window if a["manager_id"] == m]
            firsts: dict[str, datetime] = {}
            for a in mine:
                firsts.setdefault(self.who(a["client_id"]), _ts(a["occurred_at"]))
            converted = sum(1 for c, at in firsts.items()
                            if self.buys(c) and at <= self.buys(c)[0] <= at + timedelta(days=180))
            rot = [a for a in mine if a["reason"] in ROTATIONS]
            init = [a for a in mine if a["reason"] == "initial"]

            def bought(a: dict[str, Any]) -> bool:
                at = _ts(a["occurred_at"])
                return any(at <= b <= at + timedelta(days=90) for b in self.buys(self.who(a["client_id"])))
            counted = {"handovers.opened": 0, "handovers.overdue": 0, "activities.recorded": 0}
            for topic in counted:
                counted[topic] = sum(1 for x in self.of(topic)
                                     if x["manager_id"] == m and start <= _ts(x["occurred_at"]) < end)
            result.append({
                "manager_id": m, "name": names.get(m), "clients_held": held, "assigned": len(firsts),
                "first_sale_conversion": _pct(converted, len(firsts)), "rotations_in": len(rot),
                "rotations_out": sum(1 for a in window if a["reason"] in ROTATIONS and a.get("previous_manager_id") == m),
                "rotated_conversion_90d": _pct(sum(map(bought, rot)), len(rot)), "rotated_count": len(rot),
                "initial_conversion_90d": _pct(sum(map(bought, init)), len(init)), "initial_count": len(init),
                "handovers_opened": counted["handovers.opened"], "handovers_overdue": counted["handovers.overdue"],
                "activities": counted["activities.recorded"],
            })
        return result

    @staticmethod
    def key(lead: dict[str, Any]) -> tuple[Any, ...]:
        src = lead["lead_source"]
        utm = src.get("utm") or {}
        return (src["channel"], src.get("form_id"), utm.get("source"), utm.get("medium"), utm.get("campaign"))

    def sources(self, first: date, before: date) -> list[dict[str, Any]]:
        start = datetime(first.year, first.month, first.day, tzinfo=self.zone)
        end = datetime(before.year, before.month, before.day, tzinfo=self.zone)
        rows: dict[tuple[Any, ...], dict[str, Any]] = {}

        def row(key: tuple[Any, ...]) -> dict[str, Any]:
            return rows.setdefault(key, {"leads": 0, "clients": 0, "customers": 0, "revenue": {}})
        for topic in ("clients.registered", "clients.updated"):
            for lead in self.of(topic):
                if start <= _ts(lead["occurred_at"]) < end:
                    row(self.key(lead))["leads"] += 1
        firsts = self.first_registrations()
        for client, lead in firsts.items():
            if start <= _ts(lead["occurred_at"]) < end:
                row(self.key(lead))["clients"] += 1
                if self.buys(client) and self.buys(client)[0] < end:
                    row(self.key(lead))["customers"] += 1
        for client, at, amount, currency in self.purchases:
            if start <= at < end and client in firsts:
                money = row(self.key(firsts[client]))["revenue"]
                money[currency] = money.get(currency, Decimal(0)) + amount
        names = ("channel", "form_id", "utm_source", "utm_medium", "utm_campaign")
        return [{**dict(zip(names, key)), "leads": r["leads"], "clients": r["clients"], "customers": r["customers"],
                 "conversion": _pct(r["customers"], r["clients"]),
                 "revenue": {c: round(float(v), 2) for c, v in sorted(r["revenue"].items())}}
                for key, r in sorted(rows.items(), key=lambda kv: tuple(x or "" for x in kv[0]))]
