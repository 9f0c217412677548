"""The records, events and counter entries an assignment or a deferral produces, built alike by every path.

Ids are deterministic (client, assignment epoch, deferral attempt), so finishing the same committed state
twice, in a batch or one event at a time, writes and publishes the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clientbase import topics
from clientbase.events.envelope import Envelope, derived_event_id
from clientbase.events.inbound import ReassignRequested
from clientbase.events.outbound import ClientAssigned, HandoverOpened, ReassignRefused, RotationDeferred
from clientbase.topics import Topic

SOURCE = "rotation"

Publication = tuple[Topic, Envelope, str]


@dataclass(frozen=True)
class Count:
    """One idempotent change of a manager's counters, identified by its entry id."""

    manager_id: str
    entry_id: str
    load: int = 0
    received: int = 0
    given: int = 0


@dataclass
class Finished:
    """Everything that follows from a committed ownership: history, handover, events, counters."""

    assignment_id: str
    assignment: dict[str, Any]
    handover: tuple[str, dict[str, Any]] | None
    publications: list[Publication] = field(default_factory=list)
    counts: list[Count] = field(default_factory=list)


def finished(doc: dict[str, Any]) -> Finished:
    """What finishing a client's current assignment writes and publishes."""
    client_id, epoch, a = doc["_id"], doc["epoch"], doc["assignment"]
    record_id = f"{client_id}:{epoch}"
    record = {**a, "client_id": client_id, "epoch": epoch, "rotation": a["reason"] != "initial"}
    deadline = a.get("handover_deadline")
    handover = None if deadline is None else (record_id, {
        "client_id": client_id, "epoch": epoch, "manager_id": a["manager_id"],
        "previous_manager_id": a["previous_manager_id"], "deadline": deadline, "status": "open"})
    envelope = {"source": SOURCE, "correlation_id": a["correlation_id"], "causation_id": a["cause_event_id"],
                "occurred_at": a["assigned_at"]}
    publications: list[Publication] = [(topics.CLIENTS_ASSIGNED, ClientAssigned.create(
        **envelope, event_id=derived_event_id(topics.CLIENTS_ASSIGNED.name, client_id, epoch),
        client_id=client_id, manager_id=a["manager_id"], previous_manager_id=a["previous_manager_id"],
        reason=a["reason"], rule_version=a["rule_version"], handover_deadline=deadline,
        decision=a["decision"]), client_id)]
    if deadline is not None:
        publications.append((topics.HANDOVERS_OPENED, HandoverOpened.create(
            **envelope, event_id=derived_event_id(topics.HANDOVERS_OPENED.name, client_id, epoch),
            client_id=client_id, manager_id=a["manager_id"], previous_manager_id=a["previous_manager_id"],
            deadline=deadline), client_id))
    rotation = int(a["reason"] != "initial")
    counts = [Count(a["manager_id"], f"{record_id}:to", load=1, received=rotation)]
    if a["previous_manager_id"]:
        counts.append(Count(a["previous_manager_id"], f"{record_id}:from", load=-1, given=rotation))
    return Finished(record_id, record, handover, publications, counts)


def deferral(outcome: dict[str, Any]) -> tuple[str, dict[str, Any], Publication]:
    """The record id, record and event of a deferred rotation or initial assignment."""
    client_id, epoch, attempt = outcome["client_id"], outcome["assignment_epoch"], outcome["attempt"]
    fields = {k: v for k, v in outcome.items() if k not in {"cause_event_id", "correlation_id"}}
    event = RotationDeferred.create(
        source=SOURCE, correlation_id=outcome["correlation_id"], causation_id=outcome["cause_event_id"],
        event_id=derived_event_id(topics.ROTATIONS_DEFERRED.name, client_id, epoch, attempt),
        occurred_at=outcome["as_of"], **fields)
    return f"{client_id}:{epoch}:{attempt}", dict(outcome), (topics.ROTATIONS_DEFERRED, event, client_id)


def refusal(request: ReassignRequested, reason: str, detail: dict[str, Any], current_manager_id: str | None
            ) -> Publication:
    """The event that says a manual reassignment was refused, and why; its id follows from the request's."""
    event = ReassignRefused.create(
        source=SOURCE, correlation_id=request.correlation_id or request.event_id, causation_id=request.event_id,
        event_id=derived_event_id(topics.CLIENTS_REASSIGN_REFUSED.name, request.event_id),
        occurred_at=request.occurred_at, request_event_id=request.event_id, client_id=request.client_id,
        manager_id=request.manager_id, current_manager_id=current_manager_id, requested_by=request.requested_by,
        reason=reason, detail=detail)
    return topics.CLIENTS_REASSIGN_REFUSED, event, request.client_id
