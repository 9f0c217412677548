"""A generated multi-year event history for the metrics tests: clients, merges, rotations, sales in several currencies."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from clientbase import topics
from clientbase.events.inbound import ActivityRecorded, ManagerChanged
from clientbase.events.outbound import (
    ClientAssigned,
    ClientMerged,
    ClientRegistered,
    ClientUpdated,
    HandoverOpened,
    HandoverOverdue,
    LeadSource,
    NotificationOutcome,
    SaleAttributed,
)
from clientbase.topics import Topic

START = datetime(2023, 1, 3, 8, 0, tzinfo=UTC)
END = datetime(2026, 6, 28, 8, 0, tzinfo=UTC)
SOURCES = [
    LeadSource(channel="form", form_id="landing-a", utm={"source": "google", "medium": "cpc", "campaign": "spring"}),
    LeadSource(channel="form", form_id="landing-b", utm={"source": "yandex", "medium": "cpc"}),
    LeadSource(channel="call", called_number="+74951234567"),
    LeadSource(channel="import"),
]
CURRENCIES = ["RUB", "EUR", "BGN"]


@dataclass(frozen=True)
class Produced:
    """One event to produce: topic, key and the JSON body."""

    topic: Topic
    key: str
    body: bytes
    event_id: str


def _at(rng: random.Random, low: datetime, high: datetime) -> datetime:
    seconds = int((high - low).total_seconds())
    return low + timedelta(seconds=rng.randrange(max(seconds, 1)))


def generate(seed: int, tag: str, clients: int = 90, managers: int = 5) -> list[Produced]:
    """A deterministic history; late events come last, out of time order."""
    rng = random.Random(seed)
    out: list[tuple[datetime, Topic, Any, str]] = []

    def emit(topic: Topic, event: Any, key: str) -> None:
        out.append((event.occurred_at, topic, event, key))

    def env(at: datetime) -> dict[str, Any]:
        return {"source": "test", "correlation_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "event_id": str(uuid.UUID(int=rng.getrandbits(128))), "occurred_at": at}

    staff = [f"m{i}-{tag}" for i in range(managers)]
    for i, manager in enumerate(staff):
        for version, at in enumerate((START - timedelta(days=30), _at(rng, START, END))):
            emit(topics.MANAGERS_CHANGED, ManagerChanged(
                event_id=str(uuid.UUID(int=rng.getrandbits(128))), occurred_at=at, manager_id=manager,
                name=f"Manager {i} v{version}", grade=1, status="active", capacity=500), manager)
    ids = [f"c{i}-{tag}" for i in range(clients)]
    owner: dict[str, str] = {}
    for client in ids:
        registered = _at(rng, START, END - timedelta(days=60))
        source = rng.choice(SOURCES)
        emit(topics.CLIENTS_REGISTERED, ClientRegistered.create(
            **env(registered), client_id=client, kind="person", lead_source=source, lead_event_id=f"lead-{client}",
            last_confirmed_at=registered if rng.random() < 0.7 else None), client)
        for _ in range(rng.randrange(3)):
            at = _at(rng, registered, END)
            emit(topics.CLIENTS_UPDATED, ClientUpdated.create(
                **env(at), client_id=client, kind="person", lead_source=rng.choice(SOURCES),
                lead_event_id=f"lead-{client}-{at.timestamp()}", last_confirmed_at=at), client)
        manager = rng.choice(staff)
        first_at = registered + timedelta(seconds=30)
        emit(topics.CLIENTS_ASSIGNED, ClientAssigned.create(
            **env(first_at), client_id=client, manager_id=manager, reason="initial", rule_version="v1"), client)
        owner[client] = manager
        at = first_at
        for _ in range(rng.randrange(3)):
            at = at + timedelta(days=rng.randrange(60, 400))
            if at >= END:
                break
            new = rng.choice([m for m in staff if m != owner[client]])
            reason = rng.choice(["no_first_sale", "no_repeat_sale", "manager_departed", "manual"])
            emit(topics.CLIENTS_ASSIGNED, ClientAssigned.create(
                **env(at), client_id=client, manager_id=new, previous_manager_id=owner[client], reason=reason,
                rule_version="v1"), client)
            emit(topics.HANDOVERS_OPENED, HandoverOpened.create(
                **env(at), client_id=client, manager_id=new, deadline=at + timedelta(days=14)), client)
            if rng.random() < 0.4:
                emit(topics.HANDOVERS_OVERDUE, HandoverOverdue.create(
                    **env(at + timedelta(days=15)), client_id=client, manager_id=new, deadline=at + timedelta(days=14)),
                    client)
            owner[client] = new
        if rng.random() < 0.65:
            buy_at = registered
            for n in range(rng.randrange(1, 7)):
                buy_at = buy_at + timedelta(days=rng.randrange(1, 420), seconds=rng.randrange(86400))
                if buy_at >= END:
                    break
                _sale(rng, emit, env, client, f"o-{client}-{n}", buy_at, rng.choice(CURRENCIES))
        for _ in range(rng.randrange(3)):
            at = _at(rng, registered, END)
            emit(topics.ACTIVITIES_RECORDED, ActivityRecorded(
                event_id=str(uuid.UUID(int=rng.getrandbits(128))), occurred_at=at, client_id=client,
                manager_id=owner[client], kind="call"), client)
        if rng.random() < 0.3:
            emit(topics.NOTIFICATIONS_OUTCOMES, NotificationOutcome.create(
                **env(_at(rng, registered, END)), request_event_id=str(uuid.uuid4()), client_id=client,
                channel="sms", status=rng.choice(["sent", "suppressed"])), client)
    pairs = rng.sample(ids, min(16, len(ids) // 2 * 2))
    for survivor, merged in zip(pairs[::2], pairs[1::2]):
        emit(topics.CLIENTS_MERGED, ClientMerged.create(
            **env(_at(rng, START + timedelta(days=200), END)), client_id=survivor, merged_client_id=merged), survivor)
    emit(topics.CLIENTS_MERGED, ClientMerged.create(
        **env(END - timedelta(days=3)), client_id=pairs[2], merged_client_id=pairs[0]), pairs[2])
    out.sort(key=lambda item: item[0])
    late = [item for item in out if rng.random() < 0.1]
    ordered = [item for item in out if item not in late] + late
    return [Produced(t, key, e.model_dump_json().encode(), e.event_id) for _, t, e, key in ordered]


def _sale(rng: random.Random, emit: Any, env: Any, client: str, order: str, at: datetime, currency: str) -> None:
    amount = Decimal(rng.randrange(1000, 90000)) / 100
    shape = rng.choice(["order", "order+shipment", "shipment-first", "shipment-only", "order-twice"])

    def send(kind: str, when: datetime, value: Decimal) -> None:
        emit(topics.SALES_ATTRIBUTED, SaleAttributed.create(
            **env(when), client_id=client, sale_event_id=str(uuid.UUID(int=rng.getrandbits(128))), order_id=order,
            kind=kind, amount=value, currency=currency, sold_at=when), client)

    if shape == "shipment-first":
        send("shipment", at, amount + 5)
        send("order", at + timedelta(days=2), amount)
    elif shape == "shipment-only":
        send("shipment", at, amount)
    else:
        send("order", at, amount)
        if shape == "order+shipment":
            send("shipment", at + timedelta(days=3), amount)
        if shape == "order-twice":
            send("order", at + timedelta(days=1), amount * 2)
    send("payment", at + timedelta(days=5), amount)
