"""The manual reassignment rule as a pure function: may this client move to the manager a head of sales named?

The target must be known, active and under capacity. Grade rules and the no-return window are the head's to
override: the decision records whether they were, so "why does this manager own this client?" still has an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clientbase.events.inbound import ReassignRequested

from rotation.domain import Choice, Rules, Standing
from rotation.policy import allowed_grades, describe, is_large, recent_owners
from rotation.repository import MERGED, OWNED, to_client


@dataclass(frozen=True)
class Refusal:
    """Why a manual reassignment cannot happen, with the figures behind it."""

    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def check_client(doc: Mapping[str, Any] | None) -> Refusal | None:
    """Refuse a client rotation does not hold: unknown, merged into another or still waiting for a first owner."""
    if doc is None or "epoch" not in doc:
        return Refusal("client_unknown")
    if doc.get("status") == MERGED:
        return Refusal("client_merged", {"merged_into": doc.get("merged_into")})
    if doc.get("status") != OWNED:
        return Refusal("client_unassigned", {"status": doc.get("status")})
    return None


def check_target(target: Standing | None, current_manager_id: str | None) -> Refusal | None:
    """Refuse a target who is unknown, the owner already, not active, or at capacity."""
    if target is None:
        return Refusal("manager_unknown")
    if target.manager_id == current_manager_id:
        return Refusal("already_owner")
    if target.manager.status != "active":
        return Refusal(f"manager_{target.manager.status}", {"status": target.manager.status})
    if target.load >= target.manager.capacity:
        return Refusal("manager_at_capacity", {"load": target.load, "capacity": target.manager.capacity})
    return None


def decide_manual(doc: Mapping[str, Any] | None, request: ReassignRequested, standings: Mapping[str, Standing],
                  rules: Rules) -> Choice | Refusal:
    """The choice of a manual reassignment, with its inputs, or the refusal."""
    refused = check_client(doc)
    if refused is not None:
        return refused
    assert doc is not None
    client = to_client(doc)
    target = standings.get(request.manager_id)
    refused = check_target(target, client.manager_id)
    if refused is not None:
        return refused
    assert target is not None
    current = standings.get(client.manager_id or "")
    requester = standings.get(request.requested_by)
    large = is_large(client, rules)
    grades = allowed_grades(current.manager.grade, large, rules) if current else (target.manager.grade,)
    override = target.manager.grade not in grades
    return Choice(target.manager_id, {
        "rule": "manual", "rule_version": rules.rule_version, "requested_by": request.requested_by,
        "requested_by_head": bool(requester and requester.manager.is_head), "reason_text": request.reason_text,
        "current_manager_id": client.manager_id, "current_grade": current.manager.grade if current else None,
        "large_client": large, "allowed_grades": list(grades), "grade_override": override,
        "grade_rule": "overridden by the head of sales" if override else "kept",
        "recent_owner_override": target.manager_id in recent_owners(client, rules), "chosen": describe(target),
    })
