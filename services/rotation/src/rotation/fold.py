"""What one batch does to its clients, decided in memory from the state read once: no I/O here.

A `ClientFold` starts from the ownership documents and standings a batch read, applies the batch's events in
order to working copies (so a second event of one client sees the first one's effect, and each assignment
updates the standings the next decision sees), then says what to write (one guarded update per client) and,
for the clients whose write committed, what to record and publish.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clientbase.events.inbound import ReassignRequested

from rotation.domain import Choice, Rules, Standing
from rotation.manual import Refusal, decide_manual
from rotation.policy import Planner, choose_initial, choose_rotation, still_due
from rotation.repository import MERGED, OWNED, UNASSIGNED, to_client

SALE_DEFAULTS = {"has_sale": False, "sales_count": 0, "revenue": 0.0, "sale_ids": []}
PROFILE = ("name", "kind", "region", "country", "language")


def assignment_record(choice: Choice, previous: str | None, reason: str, at: datetime, cause_id: str,
                      correlation_id: str, rules: Rules, *, deadline: datetime | None) -> dict[str, Any]:
    """The record of one assignment: who, why, under which rules, decided by what."""
    return {"manager_id": choice.manager_id, "previous_manager_id": previous, "reason": reason,
            "rule_version": rules.rule_version, "decision": choice.inputs, "assigned_at": at,
            "handover_deadline": deadline, "cause_event_id": cause_id, "correlation_id": correlation_id}


def guard(client_id: str, original: Mapping[str, Any] | None) -> dict[str, Any]:
    """The filter that matches the client only in the state the batch read (a compare-and-set)."""
    if original is None or "epoch" not in original:
        return {"_id": client_id, "epoch": {"$exists": False}}
    return {"_id": client_id, **{k: original[k] for k in ("epoch", "deferrals", "status") if k in original}}


@dataclass
class Effect:
    """One thing to record and publish once the client's write committed: a finish, a deferral or a count."""

    kind: str
    client_id: str
    data: dict[str, Any]


@dataclass
class ClientFold:
    """The batch's clients as working copies, with the planner whose standings each decision updates."""

    docs: dict[str, dict[str, Any]]
    planner: Planner
    rules: Rules
    original: dict[str, dict[str, Any]] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    maxed: dict[str, set[str]] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(cls, docs: Mapping[str, dict[str, Any]], standings: Iterable[Standing] | Planner,
              rules: Rules) -> ClientFold:
        """A fold over the documents read, planning against these standings (or a planner carried over)."""
        planner = standings if isinstance(standings, Planner) else Planner(standings, rules)
        return cls({k: copy.deepcopy(v) for k, v in docs.items()}, planner, rules,
                   {k: copy.deepcopy(v) for k, v in docs.items()})

    def note(self, outcome: str) -> None:
        """Count one outcome, for the batch's log line."""
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def register(self, client_id: str, fields: dict[str, Any], at: datetime, cause_id: str, correlation_id: str,
                 *, repair: bool) -> None:
        """A new client gets its first manager (or a deferral); a known one is finished again when repairing."""
        doc = self.docs.get(client_id)
        if doc is None or "epoch" not in doc:
            self.assign_initial(client_id, fields, at, cause_id, correlation_id)
        elif repair and doc.get("status") == OWNED:
            self.effects.append(Effect("finish", client_id, copy.deepcopy(doc)))
            self.note("repaired")
        elif repair and doc.get("status") == UNASSIGNED and doc.get("last_deferral"):
            self.effects.append(Effect("deferral", client_id, dict(doc["last_deferral"])))
            self.note("repaired")

    def update(self, client_id: str, profile: dict[str, Any], fields: dict[str, Any], at: datetime, cause_id: str,
               correlation_id: str) -> None:
        """Refresh a known client's matching fields; a client never heard of is registered now."""
        doc = self.docs.get(client_id)
        if doc is None or "epoch" not in doc:
            self.register(client_id, fields, at, cause_id, correlation_id, repair=False)
            return
        doc.update(profile)
        self.note("updated")

    def assign_initial(self, client_id: str, fields: dict[str, Any], at: datetime, cause_id: str,
                       correlation_id: str) -> None:
        """Choose a new client's first owner fairly, or keep it unassigned and say why."""
        doc = self.docs.get(client_id) or {"_id": client_id}
        choice = self.planner.assign(to_client({**doc, **fields, "epoch": 0, "manager_id": None}))
        if choice.manager_id is None:
            outcome = {"client_id": client_id, "manager_id": None, "trigger": "initial", "as_of": at,
                       "assignment_epoch": 0, "attempt": 0, "reason": choice.deferral_reason,
                       "decision": choice.inputs, "cause_event_id": cause_id, "correlation_id": correlation_id}
            self.docs[client_id] = {**doc, **fields, "status": UNASSIGNED, "manager_id": None, "epoch": 0,
                                    "deferrals": 1, "previous_owners": [], "registered_at": at,
                                    "last_deferral": outcome}
            self.effects.append(Effect("deferral", client_id, dict(outcome)))
            self.note("deferred")
            return
        assignment = assignment_record(choice, None, "initial", at, cause_id, correlation_id, self.rules,
                                       deadline=None)
        since = max(m for m in (doc.get("activity_since"), at) if m is not None)
        self.docs[client_id] = {**doc, **fields, "status": OWNED, "manager_id": choice.manager_id, "epoch": 1,
                                "deferrals": 0, "assigned_at": at, "previous_owners": [], "assignment": assignment,
                                "activity_since": since}
        self.maxed.setdefault(client_id, set()).add("activity_since")
        self.effects.append(Effect("finish", client_id, copy.deepcopy(self.docs[client_id])))
        self.note("assigned")

    def retry_initial(self, client_id: str, at: datetime, cause_id: str) -> bool:
        """Give an unassigned client its first manager now; False (and nothing changed) while nobody can take it."""
        doc = self.docs[client_id]
        fields = {k: doc.get(k) for k in (*PROFILE, "handled_by_manager_id")}
        if choose_initial(to_client({**doc, **fields, "epoch": 0, "manager_id": None}), self.planner.standings,
                          self.rules).manager_id is None:
            return False
        correlation_id = (doc.get("last_deferral") or {}).get("correlation_id") or cause_id
        self.assign_initial(client_id, fields, max(at, doc.get("registered_at") or at), cause_id, correlation_id)
        return True

    def merge(self, survivor_id: str, merged_id: str, at: datetime) -> None:
        """Close the merged record's ownership; its old owner's load drops once."""
        doc = self.docs.get(merged_id)
        if doc is None:
            self.note("merge_unknown")
            return
        if doc.get("status") != MERGED:
            doc.update({"status": MERGED, "merged_into": survivor_id, "merged_at": at})
            if "manager_id" in doc:
                doc["merged_from_manager_id"] = doc.pop("manager_id")
            if doc.get("merged_from_manager_id"):
                self.planner.release(doc["merged_from_manager_id"])
        if doc.get("merged_from_manager_id"):
            self.effects.append(Effect("count", merged_id, {
                "manager_id": doc["merged_from_manager_id"], "entry_id": f"{merged_id}:merged", "load": -1}))
        self.note("merged")

    def rotate(self, event: Any) -> str:
        """React to an inactive client as the rotator does, on the working copy; returns the outcome."""
        doc = self.docs.get(event.client_id)
        if doc is None or doc.get("status") != OWNED:
            return self._noted("ignored")
        if doc["assignment"].get("cause_event_id") == event.event_id:
            self.effects.append(Effect("finish", event.client_id, copy.deepcopy(doc)))
            return self._noted("repaired")
        if (doc.get("last_deferral") or {}).get("cause_event_id") == event.event_id:
            self.effects.append(Effect("deferral", event.client_id, dict(doc["last_deferral"])))
            return self._noted("repaired")
        if doc["epoch"] != event.assignment_epoch or doc.get("deferrals", 0) != event.attempt:
            return self._noted("stale")
        client = to_client(doc)
        if not still_due(client, event.trigger, event.as_of, self.planner.standings, self.rules):
            return self._noted("obsolete")
        choice = choose_rotation(client, event.trigger, self.planner.standings, self.rules,
                                 planned=event.planned_manager_id)
        if choice.manager_id is None:
            outcome = {"client_id": client.client_id, "manager_id": client.manager_id, "trigger": event.trigger,
                       "as_of": event.as_of, "assignment_epoch": client.epoch, "attempt": client.deferrals,
                       "reason": choice.deferral_reason, "decision": choice.inputs, "cause_event_id": event.event_id,
                       "correlation_id": event.correlation_id}
            doc.update({"deferrals": client.deferrals + 1, "last_deferral": outcome})
            self.effects.append(Effect("deferral", client.client_id, dict(outcome)))
            return self._noted("deferred")
        self.move(doc, choice, event.trigger, event.as_of, event.event_id, event.correlation_id)
        return self._noted("reassigned")

    def move(self, doc: dict[str, Any], choice: Choice, reason: str, at: datetime, cause_id: str,
             correlation_id: str) -> None:
        """Give an owned client to the chosen manager, with a handover deadline, and count it in the standings."""
        client = to_client(doc)
        assert choice.manager_id is not None
        deadline = at + timedelta(days=self.rules.handover_days)
        doc.update({"manager_id": choice.manager_id, "epoch": client.epoch + 1, "assigned_at": at,
                    "activity_since": max(m for m in (at, client.last_sale_at) if m is not None),
                    "deferrals": 0, "previous_owners": [*doc.get("previous_owners", []), client.manager_id],
                    "assignment": assignment_record(choice, client.manager_id, reason, at, cause_id, correlation_id,
                                                    self.rules, deadline=deadline)})
        self.planner.move(client.manager_id, choice.manager_id, rotation=True)
        self.effects.append(Effect("finish", client.client_id, copy.deepcopy(doc)))

    def reassign(self, request: ReassignRequested) -> str:
        """A head of sales moves a client by hand: checked against the target, then moved or refused."""
        doc = self.docs.get(request.client_id)
        if doc is not None and (doc.get("assignment") or {}).get("cause_event_id") == request.event_id:
            self.effects.append(Effect("finish", request.client_id, copy.deepcopy(doc)))
            return self._noted("repaired")
        decision = decide_manual(doc, request, self.planner.standings, self.rules)
        if isinstance(decision, Refusal):
            self.effects.append(Effect("refusal", request.client_id, {
                "request": request, "reason": decision.reason, "detail": decision.detail,
                "current_manager_id": (doc or {}).get("manager_id")}))
            return self._noted("refused")
        assert doc is not None
        at = max(m for m in (request.occurred_at, doc.get("assigned_at")) if m is not None)
        self.move(doc, decision, "manual", at, request.event_id, request.correlation_id or request.event_id)
        return self._noted("moved")

    def _noted(self, outcome: str) -> str:
        self.note(outcome)
        return outcome

    def writes(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """One guarded upsert per changed client: (client id, filter, update)."""
        ops = []
        for client_id, doc in self.docs.items():
            original = self.original.get(client_id)
            if original is not None and doc == original:
                continue
            maxed = self.maxed.get(client_id, set())
            before = original or {}
            changed = {k: v for k, v in doc.items() if k != "_id" and (k not in before or before[k] != v)}
            update: dict[str, Any] = {}
            if sets := {k: v for k, v in changed.items() if k not in maxed}:
                update["$set"] = sets
            if maxes := {k: v for k, v in changed.items() if k in maxed}:
                update["$max"] = maxes
            if unsets := {k: "" for k in before if k not in doc}:
                update["$unset"] = unsets
            defaults = {k: v for k, v in SALE_DEFAULTS.items() if k not in doc and k not in before}
            if defaults and original is None:
                update["$setOnInsert"] = defaults
            elif defaults:
                update.setdefault("$set", {}).update(defaults)
            ops.append((client_id, guard(client_id, original), update))
        return ops

    def committed_effects(self, lost: set[str]) -> list[Effect]:
        """The effects of the clients whose write committed, in the order they were decided."""
        return [e for e in self.effects if e.client_id not in lost]
