"""Every figure the metrics service reports, defined once: the texts below are the contract (DESIGN §2.5)."""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

DEFINITIONS: dict[str, str] = {
    "purchase": "A purchase is one order_id: it counts once, at the occurred_at of its first order or shipment "
    "event, with the amount of its order event if there is one, else of that first shipment (payments never count "
    "as purchases; a second event of the same order_id adds nothing). Ties between events of one order_id at the "
    "same instant go to the smaller event_id.",
    "customer": "A customer is a client with at least one purchase. Clients merged into a survivor count as the "
    "survivor (a chain of merges leads to its last survivor; a client merged twice follows its earliest merge).",
    "active": "A customer is active at instant t when it has a purchase at or before t and t - (its last purchase "
    "at or before t) <= the activity window W (default 365 days, METRICS_ACTIVITY_WINDOW_DAYS).",
    "period": "A period is the half-open interval [start, end) of a calendar week (ISO, Monday), month, quarter or "
    "year in the company time zone (METRICS_TIMEZONE).",
    "customers_start": "S = customers active at start.",
    "customers_end": "E = customers active at end.",
    "new_customers": "N (new customers) = customers whose first purchase lies in [start, end).",
    "lost_customers": "lost = customers active at start or new in the period that are not active at end.",
    "crr": "CRR = (E - N) / S x 100 (null when S = 0).",
    "churn_rate": "churn rate = lost / S x 100 (null when S = 0).",
    "orders": "orders = purchases in the period.",
    "revenue": "revenue = the amounts of the period's purchases summed per currency; revenue_total is that sum "
    "only when all of them share one currency, else null.",
    "average_order_value": "average order value = revenue / orders, per currency (the revenue in a currency over "
    "the orders in that currency).",
    "purchase_frequency": "purchase frequency = orders / number of distinct customers who bought in the period.",
    "repeat_customer_rate": "repeat customer rate = customers with >= 2 purchases before end / customers with a "
    "purchase before end x 100.",
    "days_between_purchases": "time between purchases = 365 / yearly purchase frequency, where the yearly purchase "
    "frequency is the purchase frequency of the 365 days before end.",
    "median_days_between_purchases": "median days between purchases = the median gap in days between consecutive "
    "purchases of the same customer, both within the period.",
    "ltv": "LTV = average yearly revenue per customer x expected lifetime in years, per currency. Yearly revenue "
    "per customer = revenue in the 365 days before end / customers active at end; lifetime = 1 / yearly churn as a "
    "fraction (lost / S over the 365 days before end), capped at 10 years (10 when nobody was lost; null when S = 0 "
    "or no customer is active at end).",
    "active_customers": "active customers = customers whose last purchase at or before end lies within the last 90 "
    "days of end (METRICS_ACTIVE_DAYS).",
    "passive_customers": "passive customers = customers active at end (within W) that are not active customers.",
    "actual_contact_rate": "actual contact rate = clients registered before end with a contact confirmed within "
    "the 183 days up to end (METRICS_CONTACT_ACTUAL_DAYS) / clients registered before end x 100.",
    "owner": "Per manager: a client belongs to the manager of its latest assignment (clients.assigned) before the "
    "moment in question; clients_held counts the surviving clients a manager holds at to.",
    "assigned": "assigned = distinct clients assigned to the manager in [from, to); first-sale conversion = those "
    "whose first purchase lies within 180 days after their first such assignment / assigned x 100.",
    "rotations": "rotations in = assignments to the manager in [from, to) with reason no_first_sale, no_repeat_sale "
    "or manager_departed (manual is not a rotation); rotations out = such assignments away from the manager.",
    "rotation_effect": "The effect of rotation: rotated_conversion_90d = rotations in to the manager followed by a "
    "purchase (first or repeat) within 90 days / rotated_count (those rotations); initial_conversion_90d = initial "
    "assignments to the manager in [from, to) followed by a purchase within 90 days / initial_count.",
    "source": "Per source: a client's source is the lead_source of its first registration (channel, form_id, utm "
    "source/medium/campaign). leads = lead events (registrations and updates) in [from, to) carrying the source; "
    "clients = surviving clients first registered in [from, to) from the source; customers = those of them with a "
    "purchase before to; conversion = customers / clients x 100; revenue = purchases in [from, to) by clients of "
    "the source, per currency.",
    "rates": "Rates are percentages (0-100) rounded to 2 decimals; money is a map currency -> amount rounded to 2 "
    "decimals; other ratios are rounded to 2 decimals.",
}

ROTATION_REASONS = frozenset({"no_first_sale", "no_repeat_sale", "manager_departed"})
YEAR = timedelta(days=365)
FIRST_SALE_WINDOW = timedelta(days=180)
ROTATION_EFFECT_WINDOW = timedelta(days=90)
LIFETIME_CAP_YEARS = 10


@dataclass(frozen=True)
class Rules:
    """The configurable windows of the definitions."""

    activity_window: timedelta = timedelta(days=365)
    active_window: timedelta = timedelta(days=90)
    contact_window: timedelta = timedelta(days=183)


@dataclass(frozen=True)
class SaleEvent:
    """One attributed sale event (order, shipment or payment) as it arrived."""

    event_id: str
    client_id: str
    order_id: str
    kind: str
    at: datetime
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Purchase:
    """One purchase of a (surviving) customer."""

    order_id: str
    client_id: str
    at: datetime
    amount: Decimal
    currency: str


def survivors(merges: Iterable[tuple[str, str, datetime, str]]) -> dict[str, str]:
    """Map each merged client id to its last survivor, from (merged, survivor, at, event_id) facts."""
    first: dict[str, tuple[datetime, str, str]] = {}
    for merged, survivor, at, event_id in merges:
        if merged != survivor and (merged not in first or (at, event_id) < first[merged][:2]):
            first[merged] = (at, event_id, survivor)
    resolved: dict[str, str] = {}
    for merged in first:
        seen, current = {merged}, first[merged][2]
        while current in first and current not in seen:
            seen.add(current)
            current = first[current][2]
        resolved[merged] = current
    return resolved


def purchases_of(sales: Iterable[SaleEvent], survivor: Mapping[str, str]) -> list[Purchase]:
    """The purchases a set of sale events makes, by the purchase definition."""
    by_order: dict[str, list[SaleEvent]] = defaultdict(list)
    for sale in sales:
        if sale.kind in ("order", "shipment"):
            by_order[sale.order_id].append(sale)
    purchases = []
    for order_id, events in by_order.items():
        events.sort(key=lambda e: (e.at, e.event_id))
        first = events[0]
        priced = next((e for e in events if e.kind == "order"), first)
        client = survivor.get(first.client_id, first.client_id)
        purchases.append(Purchase(order_id, client, first.at, priced.amount, priced.currency))
    purchases.sort(key=lambda p: (p.at, p.order_id))
    return purchases


class Customers:
    """Each customer's purchases in time order, with the questions the definitions ask of them."""

    def __init__(self, purchases: Iterable[Purchase]) -> None:
        timelines: dict[str, list[Purchase]] = defaultdict(list)
        for purchase in purchases:
            timelines[purchase.client_id].append(purchase)
        self.timelines = {c: sorted(ps, key=lambda p: (p.at, p.order_id)) for c, ps in timelines.items()}
        self.times = {c: [p.at for p in ps] for c, ps in self.timelines.items()}
        self.stamps = {c: [t.timestamp() for t in times] for c, times in self.times.items()}
        self.all = sorted((p for ps in self.timelines.values() for p in ps), key=lambda p: (p.at, p.order_id))
        self.all_times = [p.at for p in self.all]

    def is_active(self, client: str, t: datetime, window: timedelta) -> bool:
        """The active-at-instant definition (on epoch seconds, which compare fast and exactly)."""
        stamps = self.stamps[client]
        moment = t.timestamp()
        index = bisect_right(stamps, moment)
        return bool(index) and moment - stamps[index - 1] <= window.total_seconds()

    def between(self, start: datetime, end: datetime) -> list[Purchase]:
        """Purchases in [start, end)."""
        return self.all[bisect_left(self.all_times, start):bisect_left(self.all_times, end)]


def rate(part: int | float, whole: int | float) -> float | None:
    """A percentage rounded to 2 decimals, null when the whole is 0."""
    return round(part / whole * 100, 2) if whole else None


def money(amounts: Mapping[str, Decimal]) -> dict[str, float]:
    """A currency -> amount map rounded to 2 decimals."""
    return {currency: round(float(amount), 2) for currency, amount in sorted(amounts.items())}


def revenue_by_currency(purchases: Iterable[Purchase]) -> tuple[dict[str, Decimal], dict[str, int]]:
    """Revenue and order count per currency."""
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    orders: dict[str, int] = defaultdict(int)
    for purchase in purchases:
        revenue[purchase.currency] += purchase.amount
        orders[purchase.currency] += 1
    return dict(revenue), dict(orders)


def flow(customers: Customers, start: datetime, end: datetime, window: timedelta) -> tuple[int, int, int, int]:
    """S, E, N and lost of an interval, by their definitions."""
    s = e = n = lost = 0
    w, t0, t1 = window.total_seconds(), start.timestamp(), end.timestamp()
    for stamps in customers.stamps.values():
        i0, i1 = bisect_right(stamps, t0), bisect_right(stamps, t1)
        at_start = bool(i0) and t0 - stamps[i0 - 1] <= w
        at_end = bool(i1) and t1 - stamps[i1 - 1] <= w
        new = t0 <= stamps[0] < t1
        s += at_start
        e += at_end
        n += new
        lost += (at_start or new) and not at_end
    return s, e, n, lost


def frequency(purchases: Sequence[Purchase]) -> float | None:
    """Orders over the distinct customers who made them."""
    buyers = len({p.client_id for p in purchases})
    return len(purchases) / buyers if buyers else None


def median_gap_days(purchases: Sequence[Purchase]) -> float | None:
    """Median gap in days between consecutive purchases of one customer, both among the given purchases."""
    last: dict[str, datetime] = {}
    gaps = []
    for purchase in sorted(purchases, key=lambda p: (p.at, p.order_id)):
        if purchase.client_id in last:
            gaps.append((purchase.at - last[purchase.client_id]).total_seconds() / 86400)
        last[purchase.client_id] = purchase.at
    return round(statistics.median(gaps), 2) if gaps else None


def ltv(customers: Customers, end: datetime, customers_end: int, rules: Rules) -> dict[str, float] | None:
    """LTV at the end of a period, by its definition."""
    s, _, _, lost = flow(customers, end - YEAR, end, rules.activity_window)
    if not s or not customers_end:
        return None
    churn = lost / s
    lifetime = min(1 / churn, LIFETIME_CAP_YEARS) if churn else LIFETIME_CAP_YEARS
    revenue, _ = revenue_by_currency(customers.between(end - YEAR, end))
    return {c: round(float(amount) / customers_end * lifetime, 2) for c, amount in sorted(revenue.items())}


def contact_rate(confirmations: Mapping[str, tuple[datetime, Sequence[datetime]]], end: datetime,
                 window: timedelta) -> float | None:
    """The actual contact rate at end, from each client's first registration and confirmation instants."""
    registered = [times for first, times in confirmations.values() if first < end]
    actual = sum(any(c <= end and end - c <= window for c in times) for times in registered)
    return rate(actual, len(registered))


def retention_item(customers: Customers, start: datetime, end: datetime, rules: Rules,
                   confirmations: Mapping[str, tuple[datetime, Sequence[datetime]]]) -> dict[str, Any]:
    """Every retention figure of one period [start, end)."""
    s, e, n, lost = flow(customers, start, end, rules.activity_window)
    in_period = customers.between(start, end)
    revenue, orders = revenue_by_currency(in_period)
    year_frequency = frequency(customers.between(end - YEAR, end))
    before_end = [times for times in customers.times.values() if times[0] < end]
    repeaters = sum(1 for times in before_end if len(times) >= 2 and times[1] < end)
    recent = sum(customers.is_active(c, end, rules.active_window) for c in customers.times)
    period_frequency = frequency(in_period)
    return {
        "customers_start": s, "customers_end": e, "new_customers": n, "lost_customers": lost,
        "crr": rate(e - n, s), "churn_rate": rate(lost, s),
        "orders": len(in_period), "revenue": money(revenue),
        "revenue_total": round(float(sum(revenue.values())), 2) if len(revenue) == 1 else None,
        "average_order_value": money({c: revenue[c] / orders[c] for c in revenue}),
        "buyers": len({p.client_id for p in in_period}),
        "purchase_frequency": round(period_frequency, 2) if period_frequency else None,
        "repeat_customer_rate": rate(repeaters, len(before_end)),
        "days_between_purchases": round(365 / year_frequency, 2) if year_frequency else None,
        "median_days_between_purchases": median_gap_days(in_period),
        "ltv": ltv(customers, end, e, rules),
        "active_customers": recent, "passive_customers": e - sum(
            customers.is_active(c, end, min(rules.active_window, rules.activity_window)) for c in customers.times),
        "actual_contact_rate": contact_rate(confirmations, end, rules.contact_window),
    }


@dataclass(frozen=True)
class Assignment:
    """One clients.assigned fact, its client resolved to the survivor."""

    event_id: str
    client_id: str
    manager_id: str
    previous_manager_id: str | None
    reason: str
    at: datetime


SourceKey = tuple[str | None, str | None, str | None, str | None, str | None]
SOURCE_FIELDS = ("channel", "form_id", "utm_source", "utm_medium", "utm_campaign")


@dataclass(frozen=True)
class Lead:
    """One clients.registered or clients.updated fact, its client resolved to the survivor."""

    event_id: str
    client_id: str
    registered: bool
    at: datetime
    source: SourceKey


def _converted(customers: Customers, client: str, at: datetime, window: timedelta, first_only: bool) -> bool:
    """Whether the client bought (its first purchase, or any) within a window after an instant."""
    times = customers.times.get(client, [])
    candidates = times[:1] if first_only else times
    return any(at <= t <= at + window for t in candidates)


def manager_items(customers: Customers, assignments: Sequence[Assignment], merged: Iterable[str],
                  names: Mapping[str, str], start: datetime, end: datetime,
                  extras: Mapping[str, Mapping[str, int]]) -> list[dict[str, Any]]:
    """Every per-manager figure of [start, end), one item per known manager."""
    ordered = sorted(assignments, key=lambda a: (a.at, a.event_id))
    gone = set(merged)
    owner: dict[str, str] = {}
    for a in ordered:
        if a.at < end:
            owner[a.client_id] = a.manager_id
    held: dict[str, int] = defaultdict(int)
    for client, manager in owner.items():
        if client not in gone:
            held[manager] += 1
    first_assignment: dict[tuple[str, str], datetime] = {}
    figures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in ordered:
        if not start <= a.at < end:
            continue
        first_assignment.setdefault((a.manager_id, a.client_id), a.at)
        mine = figures[a.manager_id]
        if a.reason in ROTATION_REASONS:
            mine["rotations_in"] += 1
            mine["rotated_bought"] += _converted(customers, a.client_id, a.at, ROTATION_EFFECT_WINDOW, False)
            if a.previous_manager_id:
                figures[a.previous_manager_id]["rotations_out"] += 1
        elif a.reason == "initial":
            mine["initial_count"] += 1
            mine["initial_bought"] += _converted(customers, a.client_id, a.at, ROTATION_EFFECT_WINDOW, False)
    for (manager, client), at in first_assignment.items():
        figures[manager]["assigned"] += 1
        figures[manager]["first_sales"] += _converted(customers, client, at, FIRST_SALE_WINDOW, True)
    managers = set(names) | set(held) | set(figures) | set(extras)
    items = []
    for manager in sorted(managers):
        f = figures.get(manager, {})
        items.append({
            "manager_id": manager, "name": names.get(manager), "clients_held": held.get(manager, 0),
            "assigned": f.get("assigned", 0), "first_sale_conversion": rate(f.get("first_sales", 0), f.get("assigned", 0)),
            "rotations_in": f.get("rotations_in", 0), "rotations_out": f.get("rotations_out", 0),
            "rotated_conversion_90d": rate(f.get("rotated_bought", 0), f.get("rotations_in", 0)),
            "rotated_count": f.get("rotations_in", 0),
            "initial_conversion_90d": rate(f.get("initial_bought", 0), f.get("initial_count", 0)),
            "initial_count": f.get("initial_count", 0),
            **{name: count for name, count in sorted(extras.get(manager, {}).items())},
        })
    return items


def first_registrations(leads: Iterable[Lead], merged: Iterable[str]) -> dict[str, Lead]:
    """Each surviving client's first registration."""
    gone = set(merged)
    first: dict[str, Lead] = {}
    for lead in sorted((x for x in leads if x.registered), key=lambda x: (x.at, x.event_id)):
        if lead.client_id not in gone:
            first.setdefault(lead.client_id, lead)
    return first


def source_items(customers: Customers, leads: Sequence[Lead], merged: Iterable[str], start: datetime,
                 end: datetime) -> list[dict[str, Any]]:
    """Every per-source figure of [start, end), one item per source with any figure."""
    first = first_registrations(leads, merged)
    counts: dict[SourceKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for lead in leads:
        if start <= lead.at < end:
            counts[lead.source]["leads"] += 1
    for client, lead in first.items():
        if start <= lead.at < end:
            counts[lead.source]["clients"] += 1
            times = customers.times.get(client)
            counts[lead.source]["customers"] += bool(times and times[0] < end)
    revenue: dict[SourceKey, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for purchase in customers.between(start, end):
        if purchase.client_id in first:
            revenue[first[purchase.client_id].source][purchase.currency] += purchase.amount
    items = []
    for key in sorted(set(counts) | set(revenue), key=lambda k: tuple(part or "" for part in k)):
        c = counts.get(key, {})
        items.append({
            **dict(zip(SOURCE_FIELDS, key)), "leads": c.get("leads", 0), "clients": c.get("clients", 0),
            "customers": c.get("customers", 0), "conversion": rate(c.get("customers", 0), c.get("clients", 0)),
            "revenue": money(revenue.get(key, {})),
        })
    return items
