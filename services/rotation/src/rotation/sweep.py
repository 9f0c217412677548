"""The inactivity sweep: plans due rotations, publishes `clients.inactive`, escalates overdue handovers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from clientbase import topics
from clientbase.events.envelope import derived_event_id
from clientbase.events.outbound import ClientInactive, HandoverOverdue
from clientbase.topics import Topic

from rotation.domain import PlannedRotation, Trigger
from rotation.policy import Planner, inactivity_trigger
from rotation.repository import UNASSIGNED, RotationRepository, to_client
from rotation.outcomes import SOURCE
from rotation.service import Publisher, RotationService

log = structlog.get_logger(__name__)


@dataclass
class SweepReport:
    """What a sweep or plan found and did."""

    as_of: datetime
    plan: list[PlannedRotation] = field(default_factory=list)
    emitted: int = 0
    overdue: int = 0
    unassigned_retried: int = 0
    scanned: int = 0

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON data, one line per planned rotation."""
        return {
            "as_of": self.as_of.isoformat(), "emitted": self.emitted, "overdue": self.overdue,
            "unassigned_retried": self.unassigned_retried,
            "plan": [{"client_id": p.client_id, "trigger": p.trigger, "from_manager_id": p.from_manager_id,
                      "to_manager_id": p.choice.manager_id, "deferral_reason": p.choice.deferral_reason,
                      "epoch": p.epoch, "decision": p.choice.inputs} for p in self.plan],
        }


def mark(line: PlannedRotation) -> str:
    """The client and what makes its inactivity unique, as stored once it is published."""
    return f"{line.client_id}|{line.key}"


def inactive_event_id(line: PlannedRotation) -> str:
    """The one id of 'this assignment of this client is inactive for this trigger', whoever finds it."""
    return derived_event_id(topics.CLIENTS_INACTIVE.name, line.client_id, line.key)


class Sweeper:
    """Finds clients due for rotation through indexes and publishes each once per assignment epoch."""

    def __init__(self, service: RotationService, batch_size: int = 500) -> None:
        self.service = service
        self.repo: RotationRepository = service.repo
        self.publisher: Publisher = service.publisher
        self.batch_size = batch_size

    async def sweep(self, as_of: datetime, *, apply: bool = True) -> SweepReport:
        """Plan (and when applying, publish) every due rotation as of a moment; then handovers and retries."""
        report = SweepReport(as_of)
        standings = await self.repo.standings()
        departed = [s.manager_id for s in standings if s.manager.status == "departed"]
        planner = Planner(standings, self.service.rules)
        pending: list[PlannedRotation] = []
        async for doc in self.repo.due(as_of, self.service.rules, departed):
            report.scanned += 1
            if doc.get("status") == UNASSIGNED:
                report.unassigned_retried += int(apply)
                if apply:
                    await self.retry_unassigned(doc, as_of)
                continue
            client = to_client(doc)
            trigger: Trigger | None = "manager_departed" if client.manager_id in departed else \
                inactivity_trigger(client, as_of, self.service.rules)
            if trigger is None:
                continue
            pending.append(planner.rotate(client, trigger))
            if len(pending) >= self.batch_size:
                await self.flush(pending, report, as_of, apply=apply)
                pending = []
        await self.flush(pending, report, as_of, apply=apply)
        if apply:
            report.overdue = await self.escalate_overdue(as_of)
        log.info("rotation.sweep_finished", as_of=as_of.isoformat(), apply=apply, due=len(report.plan),
                 scanned=report.scanned, overdue=report.overdue)
        return report

    async def flush(self, lines: list[PlannedRotation], report: SweepReport, as_of: datetime, *,
                    apply: bool) -> None:
        """Add planned lines to the report; when applying, publish those no sweep has published yet."""
        if not apply:
            report.plan.extend(lines)
            return
        done = await self.repo.emitted([mark(line) for line in lines])
        fresh = [line for line in lines if mark(line) not in done]
        await self.publisher.publish_all([self.inactive_event(line, as_of, None) for line in fresh])
        await self.repo.mark_emitted([mark(line) for line in fresh], as_of)
        report.plan.extend(fresh)
        report.emitted += len(fresh)

    def inactive_event(self, line: PlannedRotation, as_of: datetime,
                       correlation_id: str | None) -> tuple[Topic, ClientInactive, str]:
        """One planned rotation as a `clients.inactive` event with its deterministic id."""
        event_id = inactive_event_id(line)
        log.info("rotation.client_inactive", client_id=line.client_id, manager_id=line.from_manager_id,
                 trigger=line.trigger, planned_manager_id=line.choice.manager_id, epoch=line.epoch)
        return (topics.CLIENTS_INACTIVE, ClientInactive.create(
            source=SOURCE, event_id=event_id, correlation_id=correlation_id or event_id, occurred_at=as_of,
            client_id=line.client_id, manager_id=line.from_manager_id, trigger=line.trigger, as_of=as_of,
            assignment_epoch=line.epoch, attempt=line.deferrals, planned_manager_id=line.choice.manager_id,
        ), line.client_id)

    async def rotate_departed(self, manager_id: str, at: datetime, correlation_id: str) -> int:
        """Publish a planned rotation for every client of a departed manager, spread fairly over peers."""
        planner = Planner(await self.repo.standings(), self.service.rules)
        docs = await self.repo.clients_of(manager_id)
        lines = [planner.rotate(to_client(doc), "manager_departed") for doc in docs]
        await self.publisher.publish_all([self.inactive_event(line, at, correlation_id) for line in lines])
        await self.repo.mark_emitted([mark(line) for line in lines], at)
        log.info("rotation.manager_departed", manager_id=manager_id, clients=len(docs))
        return len(docs)

    async def escalate_overdue(self, as_of: datetime) -> int:
        """Publish `handovers.overdue` for every open handover past its deadline, for the head of sales."""
        heads = sorted(m.manager_id for m in await self.repo.managers() if m.is_head and m.status == "active")
        handovers = await self.repo.overdue_handovers(as_of)
        for h in handovers:
            event_id = derived_event_id(topics.HANDOVERS_OVERDUE.name, h["client_id"], h["epoch"])
            await self.publisher.publish(topics.HANDOVERS_OVERDUE, HandoverOverdue.create(
                source=SOURCE, event_id=event_id, correlation_id=event_id, occurred_at=as_of,
                client_id=h["client_id"], manager_id=h["manager_id"], deadline=h["deadline"],
                head_manager_id=heads[0] if heads else None), key=h["client_id"])
            await self.repo.mark_overdue(h["_id"], as_of)
            log.warning("rotation.handover_overdue", client_id=h["client_id"], manager_id=h["manager_id"],
                        head_manager_id=heads[0] if heads else None)
        return len(handovers)

    async def retry_unassigned(self, doc: dict[str, Any], as_of: datetime) -> None:
        """Try again to give a first manager to a client nobody could take before."""
        fields = {k: doc.get(k) for k in ("kind", "region", "country", "language", "handled_by_manager_id")}
        cause = derived_event_id("rotation.retry_initial", doc["_id"], doc.get("deferrals", 0))
        await self.service.assign_initial(doc["_id"], fields, as_of, cause, cause)
