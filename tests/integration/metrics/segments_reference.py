"""Generated clients with purchase histories, and their segments by the documented rules in plain Python."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from clientbase import topics
from clientbase.events.outbound import ClientMerged, ClientRegistered, ClientUpdated, LeadSource, SaleAttributed
from history_gen import Produced

DAY = timedelta(days=1)
HOT_DAYS, VIP_PURCHASES, VIP_MONTHS, VIP_FACTOR = 7, 10, 12, Decimal(3)
ACTIVE_DAYS, WINDOW_DAYS = 90, 365


@dataclass
class Person:
    """What the reference knows of one generated client."""

    client_id: str
    kind: str
    hot_at: datetime | None = None
    orders: dict[str, tuple[datetime, Decimal, str]] = field(default_factory=dict)


def reference_segments(people: dict[str, Person], as_of: datetime) -> dict[str, dict[str, Any]]:
    """Each client's segment as of an instant, straight from the rules in the README."""
    every = [o for p in people.values() for o in p.orders.values()]
    company: dict[str, Decimal] = {}
    for currency in {o[2] for o in every}:
        amounts = [o[1] for o in every if o[2] == currency]
        company[currency] = sum(amounts, Decimal(0)) / len(amounts)
    out = {}
    for p in people.values():
        bought = sorted(o for o in p.orders.values() if o[0] <= as_of)
        young = p.hot_at is not None and p.hot_at <= as_of and as_of - p.hot_at < HOT_DAYS * DAY
        if young and not any(o[0] > p.hot_at for o in bought):  # type: ignore[operator]
            temperature = "hot"
        else:
            temperature = "warm" if bought else "cold"
        vip = len(bought) >= VIP_PURCHASES and bought[-1][0] - bought[0][0] >= VIP_MONTHS * 30 * DAY
        for currency in {o[2] for o in bought}:
            mine = [o[1] for o in bought if o[2] == currency]
            vip = vip or sum(mine, Decimal(0)) / len(mine) >= VIP_FACTOR * company[currency]
        activity = None
        if bought:
            age = as_of - bought[-1][0]
            activity = "active" if age <= ACTIVE_DAYS * DAY else "passive" if age <= WINDOW_DAYS * DAY else "lost"
        out[p.client_id] = {"temperature": temperature, "vip": vip, "activity": activity, "kind": p.kind}
    return out


def _safe_age(rng: random.Random, low: int, high: int) -> timedelta:
    """An age in days that stays clear of the rule boundaries (7, 90, 365 days) by more than a day."""
    while True:
        days = rng.randrange(low, high)
        if all(abs(days - b) > 2 for b in (HOT_DAYS, ACTIVE_DAYS, WINDOW_DAYS, ACTIVE_DAYS + 200,
                                           WINDOW_DAYS + 200, HOT_DAYS + 200)):
            return timedelta(days=days, hours=rng.randrange(1, 20))


def generate_clients(seed: int, tag: str, now: datetime, count: int = 40) -> tuple[list[Produced], dict[str, Person]]:
    """Clients with purchase histories (order, shipment, payment events), hot signals and one merge."""
    rng = random.Random(seed)
    events: list[Produced] = []
    people: dict[str, Person] = {}

    def env(at: datetime) -> dict[str, Any]:
        eid = str(uuid.UUID(int=rng.getrandbits(128)))
        return {"source": "test", "correlation_id": eid, "event_id": eid, "occurred_at": at}

    def emit(topic: Any, event: Any, key: str) -> None:
        events.append(Produced(topic, key, event.model_dump_json().encode(), event.event_id))

    for i in range(count):
        cid = f"s{i}-{tag}"
        kind = rng.choice(["person", "company"])
        person = people[cid] = Person(cid, kind)
        registered = now - _safe_age(rng, 800, 1200)
        emit(topics.CLIENTS_REGISTERED, ClientRegistered.create(
            **env(registered), client_id=cid, kind=kind, lead_source=LeadSource(channel="form", form_id="f1"),
            lead_event_id=f"lead-{cid}", region="RU-MOW", language="ru"), cid)
        if rng.random() < 0.35:
            person.hot_at = now - _safe_age(rng, 0, 14)
            emit(topics.CLIENTS_UPDATED, ClientUpdated.create(
                **env(person.hot_at), client_id=cid, kind=kind, lead_source=LeadSource(channel="call"),
                lead_event_id=f"hot-{cid}", hot=True), cid)
        shape = rng.random()
        purchases = 0 if shape < 0.25 else rng.randrange(10, 14) if shape > 0.8 else rng.randrange(1, 5)
        big = rng.random() < 0.08
        for n in range(purchases):
            at = now - _safe_age(rng, 0 if purchases < 10 else 1, 700)
            amount = Decimal(rng.randrange(100, 900)) * (40 if big else 1)
            currency = "RUB" if rng.random() < 0.8 else "EUR"
            order = f"o{n}-{cid}"
            way = rng.choice(["order", "shipment", "both"])
            sale = dict(client_id=cid, order_id=order, currency=currency, sold_at=at)
            if way in ("order", "both"):
                emit(topics.SALES_ATTRIBUTED, SaleAttributed.create(
                    **env(at), sale_event_id=f"se-{order}-o", kind="order", amount=amount, **sale), cid)
            if way in ("shipment", "both"):
                shipped = at if way == "shipment" else at + timedelta(hours=5)
                emit(topics.SALES_ATTRIBUTED, SaleAttributed.create(
                    **env(shipped), sale_event_id=f"se-{order}-s", kind="shipment", amount=amount + 1,
                    **{**sale, "sold_at": shipped}), cid)
            emit(topics.SALES_ATTRIBUTED, SaleAttributed.create(
                **env(at + DAY), sale_event_id=f"se-{order}-p", kind="payment", amount=amount * 100, **sale), cid)
            person.orders[order] = (at, amount if way != "shipment" else amount + 1, currency)
    survivor, merged = f"s0-{tag}", f"s1-{tag}"
    emit(topics.CLIENTS_MERGED, ClientMerged.create(
        **env(now - 3 * DAY), client_id=survivor, merged_client_id=merged), survivor)
    gone = people.pop(merged)
    people[survivor].orders.update(gone.orders)
    people[survivor].hot_at = max((t for t in (people[survivor].hot_at, gone.hot_at) if t), default=None)
    return events, people
