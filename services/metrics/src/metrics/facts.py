"""Turns consumed events into insert-only facts, one document per event keyed by its event_id."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from clientbase import topics
from clientbase.events.inbound import ActivityRecorded, ManagerChanged
from clientbase.events.outbound import (
    ClientAssigned,
    ClientMerged,
    ClientRegistered,
    ClientSnapshot,
    ClientUpdated,
    HandoverOpened,
    HandoverOverdue,
    NotificationOutcome,
    SaleAttributed,
)
from clientbase.events.personal import open_event
from clientbase.topics import Topic

SALES, MERGES, ASSIGNMENTS, LEADS = "sales", "merges", "assignments", "leads"
MANAGERS, ACTIVITIES, HANDOVERS, OUTCOMES = "roster", "activities", "handovers", "outcomes"
FACT_COLLECTIONS = (SALES, MERGES, ASSIGNMENTS, LEADS, MANAGERS, ACTIVITIES, HANDOVERS, OUTCOMES)

MODELS: dict[Topic, type[BaseModel]] = {
    topics.CLIENTS_REGISTERED: ClientRegistered, topics.CLIENTS_UPDATED: ClientUpdated,
    topics.CLIENTS_MERGED: ClientMerged, topics.CLIENTS_ASSIGNED: ClientAssigned,
    topics.SALES_ATTRIBUTED: SaleAttributed, topics.ACTIVITIES_RECORDED: ActivityRecorded,
    topics.NOTIFICATIONS_OUTCOMES: NotificationOutcome, topics.MANAGERS_CHANGED: ManagerChanged,
    topics.HANDOVERS_OPENED: HandoverOpened, topics.HANDOVERS_OVERDUE: HandoverOverdue,
}
CONSUMED: tuple[Topic, ...] = tuple(MODELS)


def _lead(event: ClientSnapshot) -> dict[str, Any]:
    source = event.lead_source
    # a sealed snapshot carries its contacts' confirmation times in clear; a version 1 one only with the contacts
    contacts = event.confirmations or [*(p.confirmed_at for p in event.phones), *(e.confirmed_at for e in event.emails)]
    confirmed = [event.last_confirmed_at, *contacts]
    return {"client_id": event.client_id, "registered": isinstance(event, ClientRegistered),
            "channel": source.channel, "form_id": source.form_id, "utm_source": source.utm.get("source"),
            "utm_medium": source.utm.get("medium"), "utm_campaign": source.utm.get("campaign"),
            "confirmed": sorted(c for c in confirmed if c is not None)}


def fact_of(event: BaseModel) -> tuple[str, dict[str, Any]]:
    """The collection and document that record one event."""
    e: Any = event
    match event:
        case SaleAttributed():
            doc = {"client_id": e.client_id, "order_id": e.order_id, "kind": e.kind, "amount": str(e.amount),
                   "currency": e.currency.upper()}
            name = SALES
        case ClientMerged():
            name, doc = MERGES, {"client_id": e.client_id, "merged_client_id": e.merged_client_id}
        case ClientAssigned():
            name, doc = ASSIGNMENTS, {"client_id": e.client_id, "manager_id": e.manager_id,
                                      "previous_manager_id": e.previous_manager_id, "reason": e.reason}
        case ClientSnapshot():
            name, doc = LEADS, _lead(e)
        case ManagerChanged():
            name, doc = MANAGERS, {"manager_id": e.manager_id, "name": e.name}
        case ActivityRecorded():
            name, doc = ACTIVITIES, {"client_id": e.client_id, "manager_id": e.manager_id, "kind": e.kind}
        case HandoverOpened() | HandoverOverdue():
            name, doc = HANDOVERS, {"client_id": e.client_id, "manager_id": e.manager_id,
                                    "overdue": isinstance(event, HandoverOverdue)}
        case NotificationOutcome():
            name, doc = OUTCOMES, {"client_id": e.client_id, "manager_id": e.manager_id, "channel": e.channel,
                                   "status": e.status}
        case _:
            raise TypeError(f"no fact for {type(event).__name__}")
    return name, {"_id": e.event_id, "at": e.occurred_at, **doc}


def parse(topic: Topic, body: bytes) -> BaseModel:
    """The event a record carries; raises a validation error for bytes that are not one.

    Client snapshots of schema version 2 are upcast without keys: metrics holds no data keys and needs none, as
    no figure uses a personal field, so those fields read as erased here.
    """
    model = MODELS[topic]
    if issubclass(model, ClientSnapshot):
        return open_event(model, json.loads(body), {})
    return model.model_validate_json(body)


def facts_of(events: Sequence[BaseModel]) -> dict[str, list[dict[str, Any]]]:
    """The fact documents of a batch of events, per collection, one per event id."""
    grouped: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for event in events:
        name, doc = fact_of(event)
        grouped[name].setdefault(doc["_id"], doc)
    return {name: list(docs.values()) for name, docs in grouped.items()}
