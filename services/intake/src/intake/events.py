"""The events intake publishes about a lead: client snapshots, merges and rejections, with deterministic ids."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from clientbase import topics
from clientbase.events.envelope import Envelope, derived_event_id
from clientbase.events.outbound import ClientMerged, ClientRegistered, ClientUpdated, LeadRejected
from clientbase.topics import Topic

from intake.domain import Lead, Rejected, missing_fields
from intake.records import view_from_record

SOURCE = "intake"
Naming = Callable[[Topic], Topic]
Published = tuple[Topic, Envelope, str]


def quarantine_id_for(topic: Topic, raw: bytes) -> str:
    """A deterministic quarantine id, so the same rejected bytes are kept once."""
    return "q-" + derived_event_id("quarantine", topic.name, hashlib.sha256(raw).hexdigest())


def merged_event(merge: dict[str, Any], lead: Lead, name: Naming) -> Published:
    """The `clients.merged` event for a merge this lead caused."""
    event = ClientMerged.create(
        source=SOURCE, correlation_id=lead.lead_event_id, causation_id=lead.lead_event_id,
        event_id=derived_event_id(lead.lead_event_id, "client-merged", merge["_id"]),
        occurred_at=lead.occurred_at, client_id=merge["survivor"], merged_client_id=merge["_id"],
        lead_event_id=lead.lead_event_id,
    )
    return name(topics.CLIENTS_MERGED), event, merge["survivor"]


def snapshot_event(record: dict[str, Any], lead: Lead, registered: bool, name: Naming) -> Published:
    """The `clients.registered` or `clients.updated` event describing the client after this lead."""
    view = view_from_record(record)
    view.pop("first_source", None)
    view["lead_source"] = {k: v for k, v in lead.source.items() if v is not None}
    view["missing_fields"] = missing_fields(view)
    view["confirmations"] = [c["confirmed_at"] for c in (*view["phones"], *view["emails"]) if c.get("confirmed_at")]
    model, topic = (ClientRegistered, topics.CLIENTS_REGISTERED) if registered else (
        ClientUpdated, topics.CLIENTS_UPDATED)
    event = model.create(
        source=SOURCE, correlation_id=lead.lead_event_id, causation_id=lead.lead_event_id,
        event_id=derived_event_id(lead.lead_event_id, "client-snapshot"), occurred_at=lead.occurred_at,
        hot=lead.callback_requested or (lead.missed_inbound and registered),
        lead_event_id=lead.lead_event_id, handled_by_manager_id=lead.manager_id,
        warnings=[{"code": w.code, "field": w.field, "message": w.message} for w in lead.warnings], **view,
    )
    return name(topic), event, view["client_id"]


def rejected_event(topic: Topic, quarantine_id: str, rejected: Rejected, name: Naming) -> Published:
    """The `leads.rejected` event of an input kept in quarantine, keyed by its lead (or quarantine) id."""
    anchor = rejected.lead_event_id or quarantine_id
    event = LeadRejected.create(
        source=SOURCE, correlation_id=anchor, causation_id=rejected.lead_event_id,
        event_id=derived_event_id(anchor, "lead-rejected", quarantine_id),
        lead_event_id=rejected.lead_event_id, topic=topic.name, quarantine_id=quarantine_id,
        reasons=[{"code": r.code, "field": r.field, "message": r.message} for r in rejected.reasons],
    )
    return name(topics.LEADS_REJECTED), event, anchor
