"""The rotation policy as pure functions: triggers, eligibility, fairness ranking and planning."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from rotation.domain import Choice, Client, PlannedRotation, Rules, Standing, Trigger

TOP_CANDIDATES_RECORDED = 3


def activity_since(client: Client) -> datetime | None:
    """The moment the inactivity clock of the current owner starts: assignment or the last sale, whichever is later."""
    moments = [m for m in (client.assigned_at, client.last_sale_at) if m is not None]
    return max(moments) if moments else None


def inactivity_trigger(client: Client, as_of: datetime, rules: Rules) -> Trigger | None:
    """Which threshold the client is past as of a moment, if any; each owner gets the full period from assignment."""
    since = activity_since(client)
    if client.manager_id is None or since is None:
        return None
    if not client.has_sale:
        return "no_first_sale" if as_of - since > timedelta(days=rules.no_first_sale_days) else None
    return "no_repeat_sale" if as_of - since > timedelta(days=rules.no_repeat_sale_days) else None


def is_large(client: Client, rules: Rules) -> bool:
    """A large client is a company above the revenue threshold, or a VIP by the shared rule's purchase count and span.

    Rotation counts the client's sales and knows their first and last instants; the average-order branch of the VIP
    rule needs the company's average, which metrics judges (`clients.segmented`).
    """
    big_company = client.kind == "company" and client.revenue >= rules.large_client_revenue
    return big_company or rules.vip.by_purchases(client.sales_count, client.first_sale_at, client.last_sale_at)


def allowed_grades(current_grade: int, large: bool, rules: Rules) -> tuple[int, ...]:
    """Grades a client may move to: the same one, and for a large client up to `large_max_grade_step` above."""
    step = rules.large_max_grade_step if large else 0
    return tuple(range(current_grade, current_grade + step + 1))


def recent_owners(client: Client, rules: Rules) -> tuple[str, ...]:
    """The owners the client may not go back to: the current one and the last N previous ones."""
    window = client.previous_owners[-rules.no_return_window:] if rules.no_return_window > 0 else ()
    return (*window, *((client.manager_id,) if client.manager_id else ()))


def exclusion_reason(standing: Standing, client: Client, grades: tuple[int, ...], rules: Rules) -> str | None:
    """Why a manager may not receive this client by rotation, or None when eligible."""
    manager = standing.manager
    if manager.status != "active":
        return f"status_{manager.status}"
    if manager.manager_id == client.manager_id:
        return "current_owner"
    if manager.manager_id in recent_owners(client, rules):
        return "recent_owner"
    if standing.load >= manager.capacity:
        return "at_capacity"
    if manager.grade not in grades:
        return "grade"
    return None


def tie_breaker(client_id: str, manager_id: str) -> str:
    """A deterministic, client-dependent tie-break, so equal managers share ties instead of one always winning."""
    return hashlib.sha256(f"{client_id}\x1f{manager_id}".encode()).hexdigest()


def fairness_key(standing: Standing, client_id: str) -> tuple[int, int, str]:
    """Who is served first: the lowest balance (gave most, received least), then the lightest load, then the tie-break."""
    return standing.balance, standing.load, tie_breaker(client_id, standing.manager_id)


def describe(standing: Standing) -> dict[str, Any]:
    """The figures of one candidate, as recorded in a decision."""
    return {"manager_id": standing.manager_id, "grade": standing.manager.grade, "balance": standing.balance,
            "load": standing.load, "capacity": standing.manager.capacity}


def choose_rotation(
    client: Client, trigger: Trigger, standings: Mapping[str, Standing], rules: Rules, planned: str | None = None,
) -> Choice:
    """Choose the client's next manager by rotation, honouring a still-eligible planned choice."""
    current = standings.get(client.manager_id or "")
    if current is None:
        return Choice(None, {"trigger": trigger, "current_manager_id": client.manager_id,
                             "rule_version": rules.rule_version}, "current_manager_unknown")
    large = is_large(client, rules)
    grades = allowed_grades(current.manager.grade, large, rules)
    excluded: dict[str, int] = {}
    eligible: list[Standing] = []
    for standing in standings.values():
        reason = exclusion_reason(standing, client, grades, rules)
        if reason is None:
            eligible.append(standing)
        elif standing.manager_id != client.manager_id:
            excluded[reason] = excluded.get(reason, 0) + 1
    ranked = sorted(eligible, key=lambda s: fairness_key(s, client.client_id))
    inputs: dict[str, Any] = {
        "trigger": trigger, "rule_version": rules.rule_version, "current_manager_id": client.manager_id,
        "current_grade": current.manager.grade, "large_client": large, "allowed_grades": list(grades),
        "no_return": list(recent_owners(client, rules)), "eligible": len(ranked), "excluded": excluded,
        "ranking": "balance, load, tie_breaker",
    }
    if not ranked:
        return Choice(None, inputs, "no_eligible_manager")
    chosen = next((s for s in ranked if s.manager_id == planned), ranked[0])
    inputs["planned"] = planned is not None and chosen.manager_id == planned
    inputs["chosen"] = describe(chosen)
    inputs["candidates"] = [describe(s) for s in ranked[:TOP_CANDIDATES_RECORDED]]
    return Choice(chosen.manager_id, inputs)


def still_due(client: Client, trigger: Trigger, as_of: datetime, standings: Mapping[str, Standing],
              rules: Rules) -> bool:
    """Whether an inactivity trigger still holds when the rotator looks (a sale may have arrived meanwhile)."""
    if trigger == "manager_departed":
        owner = standings.get(client.manager_id or "")
        return owner is not None and owner.manager.status == "departed"
    return inactivity_trigger(client, as_of, rules) == trigger


def match_score(standing: Standing, client: Client) -> int:
    """How well a manager fits a new client: one point for the region, one for the language."""
    regions = set(standing.manager.regions)
    region_match = bool(regions & {client.country, client.region} - {None})
    language_match = client.language is not None and client.language in standing.manager.languages
    return int(region_match) + int(language_match)


def choose_initial(client: Client, standings: Mapping[str, Standing], rules: Rules) -> Choice:
    """Choose a new client's first manager: who answered the call, else the best region/language match, fairly."""
    available = [s for s in standings.values() if s.manager.status == "active" and s.load < s.manager.capacity]
    inputs: dict[str, Any] = {"rule_version": rules.rule_version, "available": len(available),
                              "handled_by_manager_id": client.handled_by_manager_id}
    handler = next((s for s in available if s.manager_id == client.handled_by_manager_id), None)
    if handler is not None:
        return Choice(handler.manager_id, {**inputs, "rule": "answered_the_call", "chosen": describe(handler)})
    if not available:
        return Choice(None, inputs, "no_active_manager")
    best_score = max(match_score(s, client) for s in available)
    tier = [s for s in available if match_score(s, client) == best_score]
    ranked = sorted(tier, key=lambda s: fairness_key(s, client.client_id))
    return Choice(ranked[0].manager_id, {
        **inputs, "rule": "best_match", "match_score": best_score, "region": client.country or client.region,
        "language": client.language, "chosen": describe(ranked[0]),
        "candidates": [describe(s) for s in ranked[:TOP_CANDIDATES_RECORDED]],
    })


class Planner:
    """Plans rotations one client at a time, counting each planned move so later choices stay fair."""

    def __init__(self, standings: Iterable[Standing], rules: Rules) -> None:
        self.rules = rules
        self.standings: dict[str, Standing] = {s.manager_id: s for s in standings}

    def rotate(self, client: Client, trigger: Trigger) -> PlannedRotation:
        """Plan one client's rotation and count it as done."""
        choice = choose_rotation(client, trigger, self.standings, self.rules)
        if choice.manager_id is not None:
            self.move(client.manager_id, choice.manager_id, rotation=True)
        return PlannedRotation(client.client_id, client.epoch, client.deferrals, trigger, client.manager_id, choice,
                               activity_since(client))

    def assign(self, client: Client) -> Choice:
        """Plan a new client's first assignment and count it as done."""
        choice = choose_initial(client, self.standings, self.rules)
        if choice.manager_id is not None:
            self.move(None, choice.manager_id, rotation=False)
        return choice

    def release(self, manager_id: str) -> None:
        """Count one client leaving a manager without a rotation (a merge)."""
        source = self.standings.get(manager_id)
        if source is not None:
            self.standings[manager_id] = replace(source, load=max(source.load - 1, 0))

    def move(self, from_id: str | None, to_id: str, *, rotation: bool) -> None:
        """Count one client moving between managers."""
        target = self.standings[to_id]
        self.standings[to_id] = replace(target, load=target.load + 1, received=target.received + int(rotation))
        source = self.standings.get(from_id or "")
        if source is not None:
            self.standings[source.manager_id] = replace(
                source, load=max(source.load - 1, 0), given=source.given + int(rotation))


def plan_rotations(
    due: Iterable[tuple[Client, Trigger]], standings: Iterable[Standing], rules: Rules,
) -> list[PlannedRotation]:
    """The whole plan for clients due for rotation, in the order given."""
    planner = Planner(standings, rules)
    return [planner.rotate(client, trigger) for client, trigger in due]
