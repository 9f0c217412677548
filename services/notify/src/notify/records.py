"""Conversions between requests, their stored documents, recipients and outcome events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from clientbase.events.envelope import derived_event_id
from clientbase.events.inbound import NotificationRequested
from clientbase.events.outbound import NotificationOutcome
from clientbase.masking import mask_email, mask_phone

from notify.domain import Decision, Recipient, Request

SOURCE = "notify"
Doc = dict[str, Any]


def request_of(event: NotificationRequested, *, first_seen: datetime) -> Request:
    """A request from the public topic."""
    return Request(
        request_id=event.event_id, correlation_id=event.correlation_id or event.event_id, channel=event.channel,
        category=event.category, template=event.template, params=dict(event.params), client_id=event.client_id,
        manager_id=event.manager_id, dedupe_key=event.dedupe_key, not_before=event.not_before, first_seen=first_seen,
    )


def request_from_doc(doc: Doc) -> Request:
    """A request rebuilt from its stored document."""
    return Request(
        request_id=doc["_id"], correlation_id=doc["correlation_id"], channel=doc["channel"], category=doc["category"],
        template=doc["template"], params=doc.get("params") or {}, client_id=doc.get("client_id"),
        manager_id=doc.get("manager_id"), dedupe_key=doc.get("dedupe_key"), not_before=doc.get("not_before"),
        address=doc.get("fixed_address"), first_seen=doc.get("first_seen"),
        subject_client_id=doc.get("subject_client_id"),
    )


def request_fields(request: Request) -> Doc:
    """The stored fields of a request (what the scheduler needs to decide it again)."""
    return {
        "_id": request.request_id, "correlation_id": request.correlation_id, "channel": request.channel,
        "category": request.category, "template": request.template, "params": dict(request.params),
        "client_id": request.client_id, "manager_id": request.manager_id, "dedupe_key": request.dedupe_key,
        "not_before": request.not_before, "fixed_address": request.address, "first_seen": request.first_seen,
        "subject_client_id": request.subject_client_id,
    }


def recipient_of_client(doc: Doc) -> Recipient:
    """A client snapshot as a recipient."""
    return Recipient(
        key=f"client:{doc['_id']}", name=doc.get("name"),
        phones=tuple((p["e164"], p.get("type", "other")) for p in doc.get("phones", [])),
        emails=tuple(doc.get("emails", [])), locale=doc.get("locale") or doc.get("language"),
        region=doc.get("region"), country=doc.get("country"), erased=bool(doc.get("erased")),
    )


def subject_params(subject: Recipient | None) -> Doc:
    """What a manager's alert shows of the client it is about: the name and masked contacts, "—" when unknown."""
    known = subject if subject and not subject.erased else None
    shown = [mask_phone(e164) for e164, _ in known.phones] + [mask_email(e) for e in known.emails] if known else []
    return {"client_name": (known.name if known else None) or "—", "contacts": ", ".join(shown) or "—"}


def recipient_of_manager(doc: Doc) -> Recipient:
    """A manager from the roster as a recipient."""
    languages = doc.get("languages") or []
    phone = doc.get("phone")
    return Recipient(
        key=f"manager:{doc['_id']}", name=doc.get("name"), phones=((phone, doc.get("phone_type", "mobile")),) if phone
        else (), emails=(doc["email"],) if doc.get("email") else (), locale=languages[0] if languages else None,
    )


def outcome_event(doc: Doc, *, status: str, reason: str | None, provider: str | None = None,
                  deliver_after: datetime | None = None) -> NotificationOutcome:
    """The outcome event of a request; its id is derived, so a replay republishes the same event."""
    kind = "deferred" if status == "deferred" else "final"
    return NotificationOutcome.create(
        source=SOURCE, correlation_id=doc["correlation_id"], causation_id=doc["_id"],
        event_id=derived_event_id("notify.outcome", doc["_id"], kind), request_event_id=doc["_id"],
        client_id=doc.get("client_id"), manager_id=doc.get("manager_id"), channel=doc["channel"], status=status,
        reason=reason, provider=provider, deliver_after=deliver_after,
    )


def outcome_key(doc: Doc) -> str:
    """Partition key of an outcome: the client or manager id."""
    return str(doc.get("client_id") or doc.get("manager_id") or doc.get("request_event_id") or doc["_id"])


def stored_outcomes(doc: Doc) -> list[NotificationOutcome]:
    """The outcome events a stored request has reached (to republish them after a crash)."""
    events = []
    if doc.get("deferred"):
        events.append(outcome_event(doc, status="deferred", **doc["deferred"]))
    if doc.get("status") == "done" and doc.get("outcome"):
        events.append(outcome_event(doc, **doc["outcome"]))
    return events


def decided_fields(decision: Decision, now: datetime, retry_s: float, lease_s: float = 300.0) -> Doc:
    """What a decision sets on the request document (status, due time, outcome)."""
    if decision.verdict in ("suppressed", "failed"):
        return {"status": "done", "due_at": None,
                "outcome": {"status": decision.verdict, "reason": decision.reason}}
    if decision.verdict == "wait":
        return {"status": "parked", "due_at": now + timedelta(seconds=retry_s),
                "parked_reason": "subject" if decision.reason == "unknown_subject" else "recipient"}
    if decision.verdict == "deferred":
        return {"status": "parked", "due_at": decision.deliver_after, "parked_reason": decision.reason,
                "target": decision.address}
    return {"status": "queued", "due_at": now + timedelta(seconds=lease_s), "target": decision.address,
            "locale": decision.locale,
            "message": dict(decision.message or {})}

