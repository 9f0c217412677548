"""Rotation's use cases: roster, initial assignment, activity state, the rotator and its outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from clientbase.events.envelope import Envelope
from clientbase.events.inbound import ActivityRecorded, ManagerChanged
from clientbase.events.outbound import ClientInactive, ClientMerged, ClientSnapshot, SaleAttributed
from clientbase.topics import Topic

from rotation.domain import Choice, Rules
from rotation.fold import assignment_record
from rotation.outcomes import deferral, finished
from rotation.policy import choose_initial, choose_rotation, still_due
from rotation.repository import ASSIGNMENTS, DEFERRALS, HANDOVERS, OWNED, UNASSIGNED, RotationRepository, to_client

log = structlog.get_logger(__name__)


class Publisher(Protocol):
    """Anything that publishes a contract event to a registered topic."""

    async def publish(self, topic: Topic, event: Envelope, *, key: str) -> None:
        """Publish one event."""

    async def publish_all(self, items: Iterable[tuple[Topic, Envelope, str]]) -> None:
        """Publish several events, in order, awaiting their acks together."""


def log_assignment(doc: dict[str, Any]) -> None:
    """Say who got a client and why."""
    a = doc["assignment"]
    event = "rotation.client_assigned" if a["reason"] == "initial" else "rotation.client_reassigned"
    log.info(event, client_id=doc["_id"], from_manager=a["previous_manager_id"], to_manager=a["manager_id"],
             reason=a["reason"], epoch=doc["epoch"])


def log_deferral(outcome: dict[str, Any]) -> None:
    """Say that nobody could take a client, and why."""
    log.warning("rotation.rotation_deferred", client_id=outcome["client_id"], manager_id=outcome["manager_id"],
                trigger=outcome["trigger"], reason=outcome["reason"], attempt=outcome["attempt"])


def profile_fields(snapshot: ClientSnapshot) -> dict[str, Any]:
    """The client fields rotation matches on, and the name its plan shows."""
    return {"name": snapshot.name or snapshot.company, "kind": snapshot.kind, "region": snapshot.region, "country": snapshot.country,
            "language": snapshot.language}


class RotationService:
    """Owns who owns each client: applies assignments, rotations and deferrals idempotently."""

    def __init__(self, repo: RotationRepository, publisher: Publisher, rules: Rules) -> None:
        self.repo = repo
        self.publisher = publisher
        self.rules = rules

    async def change_manager(self, event: ManagerChanged) -> bool:
        """Apply a roster change; True when it was the newest one for that manager."""
        fields = event.model_dump(include={"name", "grade", "status", "capacity", "regions", "languages", "is_head"})
        applied = await self.repo.save_manager(event.manager_id, fields, event.occurred_at)
        log.info("rotation.roster_changed", manager_id=event.manager_id, status=event.status, applied=applied)
        return applied

    async def register_client(self, snapshot: ClientSnapshot, *, repair: bool = True) -> None:
        """Give a new client its first manager, or finish an assignment a crash interrupted."""
        doc = await self.repo.client(snapshot.client_id)
        if doc is None or "epoch" not in doc:
            fields = {**profile_fields(snapshot), "handled_by_manager_id": snapshot.handled_by_manager_id}
            await self.assign_initial(snapshot.client_id, fields, snapshot.occurred_at, snapshot.event_id,
                                      snapshot.correlation_id)
        elif repair and doc.get("status") == OWNED:
            await self.finish(doc)
        elif repair and doc.get("status") == UNASSIGNED and doc.get("last_deferral"):
            await self.publish_deferral(doc["last_deferral"])

    async def update_client(self, snapshot: ClientSnapshot) -> None:
        """Refresh matching fields; a client rotation never heard of is registered now."""
        if not await self.repo.update_profile(snapshot.client_id, profile_fields(snapshot)):
            await self.register_client(snapshot, repair=False)

    async def assign_initial(self, client_id: str, fields: dict[str, Any], at: datetime, cause_id: str,
                             correlation_id: str) -> None:
        """Choose and store a client's first owner, or record that nobody was available."""
        doc = await self.repo.client(client_id) or {"_id": client_id}
        client = to_client({**doc, **fields, "epoch": 0, "manager_id": None})
        standings = {s.manager_id: s for s in await self.repo.standings()}
        choice = choose_initial(client, standings, self.rules)
        if choice.manager_id is None:
            await self.defer_initial(client_id, fields, at, cause_id, correlation_id, choice, doc)
            return
        assignment = self.assignment(choice, None, "initial", at, cause_id, correlation_id, deadline=None)
        await self.repo.claim(client_id, {**fields, "status": OWNED, "manager_id": choice.manager_id, "epoch": 1,
                                          "deferrals": 0, "assigned_at": at, "previous_owners": [],
                                          "assignment": assignment}, at)
        stored = await self.repo.client(client_id)
        if stored is not None and stored.get("status") == OWNED:
            await self.finish(stored)

    async def defer_initial(self, client_id: str, fields: dict[str, Any], at: datetime, cause_id: str,
                            correlation_id: str, choice: Choice, doc: dict[str, Any]) -> None:
        """Keep a client unassigned for the next sweep, and say why."""
        retry = doc.get("status") == UNASSIGNED
        attempt = doc.get("deferrals", 0) if retry else 0
        outcome = {"client_id": client_id, "manager_id": None, "trigger": "initial", "as_of": at,
                   "assignment_epoch": 0, "attempt": attempt, "reason": choice.deferral_reason,
                   "decision": choice.inputs, "cause_event_id": cause_id, "correlation_id": correlation_id}
        if retry:
            if not await self.repo.compare_and_set(client_id, 0, attempt, {
                    "$inc": {"deferrals": 1}, "$set": {"last_deferral": outcome}}):
                return
        elif not await self.repo.claim(client_id, {
                **fields, "status": UNASSIGNED, "manager_id": None, "epoch": 0, "deferrals": 1,
                "previous_owners": [], "registered_at": at, "last_deferral": outcome}, None):
            return
        await self.publish_deferral(outcome)

    def assignment(self, choice: Choice, previous: str | None, reason: str, at: datetime, cause_id: str,
                   correlation_id: str, *, deadline: datetime | None) -> dict[str, Any]:
        """The record of one assignment: who, why, under which rules, decided by what."""
        return assignment_record(choice, previous, reason, at, cause_id, correlation_id, self.rules,
                                 deadline=deadline)

    async def finish(self, doc: dict[str, Any]) -> None:
        """Write the history, open the handover and publish, all from the committed ownership; safe to repeat."""
        done = finished(doc)
        await self.repo.put_once(ASSIGNMENTS, done.assignment_id, done.assignment)
        if done.handover is not None:
            await self.repo.put_once(HANDOVERS, *done.handover)
        for topic, event, key in done.publications:
            await self.publisher.publish(topic, event, key=key)
        for c in done.counts:
            await self.repo.count(c.manager_id, c.entry_id, load=c.load, received=c.received, given=c.given)
        log_assignment(doc)

    async def rotate(self, event: ClientInactive) -> str:
        """React to an inactive client: re-check, choose by the policy, and reassign or defer; returns the outcome."""
        doc = await self.repo.client(event.client_id)
        if doc is None or doc.get("status") != OWNED:
            log.info("rotation.inactive_ignored", client_id=event.client_id, status=doc and doc.get("status"))
            return "ignored"
        if doc["assignment"].get("cause_event_id") == event.event_id:
            await self.finish(doc)
            return "repaired"
        if (doc.get("last_deferral") or {}).get("cause_event_id") == event.event_id:
            await self.publish_deferral(doc["last_deferral"])
            return "repaired"
        if doc["epoch"] != event.assignment_epoch or doc.get("deferrals", 0) != event.attempt:
            log.info("rotation.inactive_stale", client_id=event.client_id, epoch=doc["epoch"],
                     event_epoch=event.assignment_epoch)
            return "stale"
        standings = {s.manager_id: s for s in await self.repo.standings()}
        client = to_client(doc)
        if not still_due(client, event.trigger, event.as_of, standings, self.rules):
            log.info("rotation.inactive_obsolete", client_id=client.client_id, trigger=event.trigger)
            return "obsolete"
        choice = choose_rotation(client, event.trigger, standings, self.rules, planned=event.planned_manager_id)
        if choice.manager_id is None:
            return await self.defer(doc, event, choice)
        deadline = event.as_of + timedelta(days=self.rules.handover_days)
        assignment = self.assignment(choice, client.manager_id, event.trigger, event.as_of, event.event_id,
                                     event.correlation_id, deadline=deadline)
        since = max(m for m in (event.as_of, client.last_sale_at) if m is not None)
        committed = await self.repo.compare_and_set(client.client_id, client.epoch, client.deferrals, {
            "$set": {"manager_id": choice.manager_id, "epoch": client.epoch + 1, "assigned_at": event.as_of,
                     "activity_since": since, "deferrals": 0, "assignment": assignment},
            "$push": {"previous_owners": client.manager_id}})
        stored = await self.repo.client(client.client_id)
        if not committed and (stored or {}).get("assignment", {}).get("cause_event_id") != event.event_id:
            return "stale"
        assert stored is not None
        await self.finish(stored)
        return "reassigned"

    async def defer(self, doc: dict[str, Any], event: ClientInactive, choice: Choice) -> str:
        """Leave the client with its owner, record why, and let the next sweep retry."""
        outcome = {"client_id": doc["_id"], "manager_id": doc.get("manager_id"), "trigger": event.trigger,
                   "as_of": event.as_of, "assignment_epoch": doc["epoch"], "attempt": doc.get("deferrals", 0),
                   "reason": choice.deferral_reason, "decision": choice.inputs, "cause_event_id": event.event_id,
                   "correlation_id": event.correlation_id}
        if await self.repo.compare_and_set(doc["_id"], doc["epoch"], outcome["attempt"], {
                "$inc": {"deferrals": 1}, "$set": {"last_deferral": outcome}}):
            await self.publish_deferral(outcome)
            return "deferred"
        return "stale"

    async def publish_deferral(self, outcome: dict[str, Any]) -> None:
        """Record and publish a deferred rotation; safe to repeat."""
        record_id, record, (topic, event, key) = deferral(outcome)
        await self.repo.put_once(DEFERRALS, record_id, record)
        await self.publisher.publish(topic, event, key=key)
        log_deferral(outcome)

    async def record_sale(self, event: SaleAttributed) -> None:
        """Count an attributed sale in the client's activity state."""
        new = await self.repo.record_sale(event.client_id, event.sale_event_id, event.sold_at, float(event.amount))
        log.info("rotation.sale_recorded", client_id=event.client_id, new=new)

    async def record_activity(self, event: ActivityRecorded) -> None:
        """Track the client's last activity; a handover report by the new owner closes the handover."""
        await self.repo.record_activity(event.client_id, event.occurred_at)
        if event.kind == "handover_report":
            closed = await self.repo.close_handovers(event.client_id, event.manager_id, event.occurred_at,
                                                     event.event_id)
            log.info("rotation.handover_reported", client_id=event.client_id, manager_id=event.manager_id,
                     closed=closed)

    async def merge(self, event: ClientMerged) -> None:
        """A merged client keeps one owner: the survivor's."""
        merged = await self.repo.merge(event.client_id, event.merged_client_id, event.occurred_at)
        if merged and merged.get("merged_from_manager_id"):
            await self.repo.count(merged["merged_from_manager_id"], f"{event.merged_client_id}:merged", load=-1)
        log.info("rotation.client_merged", client_id=event.client_id, merged_client_id=event.merged_client_id)
