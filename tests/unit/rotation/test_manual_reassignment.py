"""The manual reassignment rule: the target must be known, active and under capacity; grade rules are overridable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from clientbase.events.inbound import ReassignRequested

from rotation.domain import Choice, Manager, Rules, Standing
from rotation.fold import ClientFold
from rotation.manual import Refusal, decide_manual

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RULES = Rules()


def standing(manager_id: str, grade: int = 1, status: str = "active", capacity: int = 10, load: int = 0,
             is_head: bool = False) -> Standing:
    return Standing(Manager(manager_id, grade, status, capacity, is_head=is_head), load=load)  # type: ignore[arg-type]


ROSTER = {s.manager_id: s for s in (
    standing("owner", load=1), standing("peer"), standing("senior", grade=2), standing("gone", status="departed"),
    standing("away", status="on_leave"), standing("full", capacity=3, load=3), standing("head", is_head=True))}


def owned(**extra: Any) -> dict[str, Any]:
    return {"_id": "c-1", "status": "owned", "manager_id": "owner", "epoch": 1, "deferrals": 0, "assigned_at": NOW,
            "previous_owners": [], "assignment": {"reason": "initial", "cause_event_id": "lead-1"}, **extra}


def request(manager_id: str, event_id: str = "req-1") -> ReassignRequested:
    return ReassignRequested(event_id=event_id, occurred_at=NOW, client_id="c-1", manager_id=manager_id,
                             requested_by="head")


@pytest.mark.parametrize(("target", "doc", "reason"), [
    ("gone", owned(), "manager_departed"), ("away", owned(), "manager_on_leave"),
    ("full", owned(), "manager_at_capacity"), ("nobody", owned(), "manager_unknown"),
    ("owner", owned(), "already_owner"), ("peer", None, "client_unknown"),
    ("peer", owned(status="merged", merged_into="c-0"), "client_merged"),
    ("peer", owned(status="unassigned", manager_id=None), "client_unassigned"),
])
def test_refusals_name_their_reason(target: str, doc: dict[str, Any] | None, reason: str) -> None:
    decision = decide_manual(doc, request(target), ROSTER, RULES)
    assert isinstance(decision, Refusal) and decision.reason == reason


def test_a_higher_grade_is_the_heads_override_and_the_decision_says_so() -> None:
    senior = decide_manual(owned(), request("senior"), ROSTER, RULES)
    peer = decide_manual(owned(), request("peer"), ROSTER, RULES)
    assert isinstance(senior, Choice) and isinstance(peer, Choice)
    assert (senior.manager_id, senior.inputs["grade_override"], senior.inputs["requested_by_head"]) == (
        "senior", True, True)
    assert (peer.inputs["grade_override"], peer.inputs["grade_rule"]) == (False, "kept")


def test_a_manual_move_counts_in_the_fairness_balance_and_opens_a_handover() -> None:
    fold = ClientFold.start({"c-1": owned()}, ROSTER.values(), RULES)
    assert fold.reassign(request("peer")) == "moved"
    assert fold.planner.standings["peer"].balance == 1 and fold.planner.standings["owner"].balance == -1
    doc = fold.docs["c-1"]
    assert (doc["manager_id"], doc["epoch"], doc["previous_owners"]) == ("peer", 2, ["owner"])
    assert doc["assignment"]["reason"] == "manual" and doc["assignment"]["handover_deadline"] > NOW
    assert fold.reassign(request("peer")) == "repaired", "the same request again finishes the same move"
    assert fold.reassign(request("gone", event_id="req-2")) == "refused"
    assert [e.kind for e in fold.effects] == ["finish", "finish", "refusal"]
