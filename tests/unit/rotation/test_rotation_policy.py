"""The rotation policy as pure functions: triggers, eligibility, fairness, planning, determinism."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rotation.domain import Client, Manager, Rules, Standing
from rotation.policy import (
    Planner, choose_initial, choose_rotation, fairness_key, inactivity_trigger, is_large, plan_rotations,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RULES = Rules()


def mgr(manager_id: str, grade: int = 1, *, status: str = "active", capacity: int = 100, load: int = 0,
        received: int = 0, given_: int = 0, regions: tuple[str, ...] = ("RU",),
        languages: tuple[str, ...] = ("ru",)) -> Standing:
    return Standing(Manager(manager_id, grade, status, capacity, regions, languages),  # type: ignore[arg-type]
                    load=load, received=received, given=given_)


def roster(*standings: Standing) -> dict[str, Standing]:
    return {s.manager_id: s for s in standings}


def client(client_id: str = "c-1", owner: str | None = "a", *, days_ago: int = 200, **kw: object) -> Client:
    return Client(client_id, owner, kw.pop("epoch", 1), NOW - timedelta(days=days_ago), **kw)  # type: ignore[arg-type]


# --- triggers -------------------------------------------------------------------------------------------

def test_no_first_sale_fires_after_180_days_only() -> None:
    assert inactivity_trigger(client(days_ago=181), NOW, RULES) == "no_first_sale"
    assert inactivity_trigger(client(days_ago=179), NOW, RULES) is None
    assert inactivity_trigger(client(days_ago=180), NOW, RULES) is None, "more than 180 days, not exactly 180"


def test_no_repeat_sale_counts_from_the_last_sale() -> None:
    old_buyer = client(days_ago=900, last_sale_at=NOW - timedelta(days=366), sales_count=1)
    recent_buyer = client(days_ago=900, last_sale_at=NOW - timedelta(days=364), sales_count=1)
    assert inactivity_trigger(old_buyer, NOW, RULES) == "no_repeat_sale"
    assert inactivity_trigger(recent_buyer, NOW, RULES) is None


def test_a_new_owner_gets_the_full_period_from_assignment() -> None:
    rotated_lately = client(days_ago=10, last_sale_at=NOW - timedelta(days=400), sales_count=1)
    assert inactivity_trigger(rotated_lately, NOW, RULES) is None


def test_thresholds_are_configurable() -> None:
    strict = Rules(no_first_sale_days=30)
    assert inactivity_trigger(client(days_ago=31), NOW, strict) == "no_first_sale"


# --- eligibility ----------------------------------------------------------------------------------------

def test_same_grade_only_for_an_ordinary_client() -> None:
    standings = roster(mgr("a", 2), mgr("junior", 1), mgr("peer", 2), mgr("senior", 3))
    choice = choose_rotation(client(), "no_first_sale", standings, RULES)
    assert choice.manager_id == "peer"
    assert choice.inputs["excluded"] == {"grade": 2}


def test_large_client_may_go_one_grade_higher_but_never_lower() -> None:
    standings = roster(mgr("a", 2), mgr("junior", 1), mgr("senior", 3, load=50), mgr("top", 4))
    big = client(kind="company", revenue=5_000_000.0, sales_count=2)
    assert is_large(big, RULES)
    choice = choose_rotation(big, "no_repeat_sale", standings, RULES)
    assert choice.manager_id == "senior"
    assert choice.inputs["allowed_grades"] == [2, 3]
    small = client(kind="company", revenue=10.0, sales_count=2)
    assert choose_rotation(small, "no_repeat_sale", standings, RULES).deferral_reason == "no_eligible_manager"


def test_never_back_to_the_current_or_a_recent_owner() -> None:
    standings = roster(mgr("a"), mgr("b"), mgr("c"), mgr("d", load=90))
    bounced = client(previous_owners=("c", "b"))
    choice = choose_rotation(bounced, "no_first_sale", standings, RULES)
    assert choice.manager_id == "d", "a is the owner, b and c owned it recently"
    assert choice.inputs["excluded"] == {"recent_owner": 2}


def test_owners_older_than_the_window_are_eligible_again() -> None:
    standings = roster(mgr("a"), mgr("b"), mgr("c"))
    long_ago = client(previous_owners=("b", "x", "y", "z"))
    assert choose_rotation(long_ago, "no_first_sale", standings, RULES).manager_id in {"b", "c"}
    assert choose_rotation(long_ago, "no_first_sale", standings, Rules(no_return_window=4)).manager_id == "c"


def test_managers_at_capacity_or_not_active_are_skipped() -> None:
    standings = roster(mgr("a"), mgr("full", capacity=5, load=5), mgr("away", status="on_leave"),
                       mgr("gone", status="departed"), mgr("free", load=99))
    choice = choose_rotation(client(), "no_first_sale", standings, RULES)
    assert choice.manager_id == "free"
    assert choice.inputs["excluded"] == {"at_capacity": 1, "status_on_leave": 1, "status_departed": 1}


def test_no_eligible_manager_defers_with_the_reason() -> None:
    choice = choose_rotation(client(), "no_first_sale", roster(mgr("a"), mgr("full", capacity=0)), RULES)
    assert choice.deferred and choice.deferral_reason == "no_eligible_manager"
    unknown = choose_rotation(client(owner="ghost"), "no_first_sale", roster(mgr("b")), RULES)
    assert unknown.deferral_reason == "current_manager_unknown"


# --- fairness -------------------------------------------------------------------------------------------

def test_who_gave_most_and_received_least_is_served_first() -> None:
    standings = roster(mgr("a"), mgr("taker", received=5, given_=1), mgr("giver", received=1, given_=4, load=99))
    assert choose_rotation(client(), "no_first_sale", standings, RULES).manager_id == "giver"


def test_equal_balance_goes_to_the_lighter_load() -> None:
    standings = roster(mgr("a"), mgr("busy", load=40, received=2, given_=2), mgr("light", load=10))
    assert choose_rotation(client(), "no_first_sale", standings, RULES).manager_id == "light"


def test_full_ties_are_broken_deterministically_and_shared() -> None:
    standings = roster(mgr("a"), mgr("b"), mgr("c"))
    winners = {choose_rotation(client(f"c-{i}"), "no_first_sale", standings, RULES).manager_id for i in range(40)}
    assert winners == {"b", "c"}, "the tie-break depends on the client, so ties do not always go to one manager"
    again = {choose_rotation(client(f"c-{i}"), "no_first_sale", standings, RULES).manager_id for i in range(40)}
    assert again == winners


def test_departed_managers_clients_spread_over_peers() -> None:
    peers = [mgr(f"p{i}", load=i * 7) for i in range(4)]
    standings = [mgr("gone", status="departed", load=30), *peers]
    due = [(client(f"c-{i:02}", owner="gone"), "manager_departed") for i in range(30)]
    plan = plan_rotations(due, standings, RULES)  # type: ignore[arg-type]
    counts: dict[str, int] = {}
    for line in plan:
        counts[line.choice.manager_id or ""] = counts.get(line.choice.manager_id or "", 0) + 1
    assert sorted(counts.values()) == [7, 7, 8, 8]


@settings(max_examples=60, deadline=None)
@given(managers=st.integers(2, 8), clients=st.integers(1, 120), start_balance=st.integers(-3, 3),
       loads=st.lists(st.integers(0, 50), min_size=8, max_size=8), seed=st.integers(0, 10_000))
def test_balance_spread_is_at_most_one_after_k_rotations_among_m_managers(
    managers: int, clients: int, start_balance: int, loads: list[int], seed: int,
) -> None:
    peers = [mgr(f"p{i}", load=loads[i], capacity=1000, received=max(start_balance, 0),
                 given_=max(-start_balance, 0)) for i in range(managers)]
    givers = [mgr(f"g{i}", capacity=1000) for i in range(3)]
    rng = random.Random(seed)
    due = [(client(f"c-{n}", owner=rng.choice(givers).manager_id, previous_owners=("g0", "g1", "g2")),
            "no_first_sale") for n in range(clients)]
    planner = Planner([*givers, *peers], RULES)
    for c, trigger in due:
        planner.rotate(c, trigger)  # type: ignore[arg-type]
    balances = [planner.standings[p.manager_id].balance for p in peers]
    assert max(balances) - min(balances) <= 1
    assert sum(balances) == clients + managers * start_balance


# --- determinism ----------------------------------------------------------------------------------------

def test_same_inputs_give_the_same_plan() -> None:
    standings = [mgr("a", load=3), mgr("b", load=1), mgr("c", load=2, received=1), mgr("d", status="on_leave")]
    due = [(client(f"c-{i}", owner="abc"[i % 3]), "no_first_sale") for i in range(25)]
    first = plan_rotations(due, standings, RULES)  # type: ignore[arg-type]
    second = plan_rotations(list(due), list(reversed(standings)), RULES)  # type: ignore[arg-type]
    assert [(p.client_id, p.choice.manager_id, p.choice.inputs) for p in first] == \
        [(p.client_id, p.choice.manager_id, p.choice.inputs) for p in second]


def test_fairness_key_orders_balance_then_load() -> None:
    assert fairness_key(mgr("x", received=1, load=0), "c") > fairness_key(mgr("y", load=9), "c")


def test_a_still_eligible_planned_choice_is_kept_and_an_ineligible_one_is_replaced() -> None:
    standings = roster(mgr("a"), mgr("b", load=5), mgr("c", load=1))
    assert choose_rotation(client(), "no_first_sale", standings, RULES, planned="b").manager_id == "b"
    full = roster(mgr("a"), mgr("b", capacity=5, load=5), mgr("c", load=1))
    assert choose_rotation(client(), "no_first_sale", full, RULES, planned="b").manager_id == "c"


# --- initial assignment ---------------------------------------------------------------------------------

def test_initial_goes_to_who_answered_the_call_when_active_and_under_capacity() -> None:
    standings = roster(mgr("ru1", load=50), mgr("ru2"))
    new = Client("c-9", None, 0, None, country="RU", language="ru", handled_by_manager_id="ru1")
    assert choose_initial(new, standings, RULES).manager_id == "ru1"
    full = roster(mgr("ru1", capacity=50, load=50), mgr("ru2", load=10), mgr("bg", regions=("BG",)))
    choice = choose_initial(new, full, RULES)
    assert choice.manager_id == "ru2" and choice.inputs["rule"] == "best_match"


def test_initial_prefers_region_and_language_then_fairness() -> None:
    standings = roster(mgr("ru", regions=("RU",), languages=("ru",)),
                       mgr("bg", regions=("BG",), languages=("bg", "ru"), load=30),
                       mgr("bg2", regions=("BG",), languages=("bg",), load=10))
    bulgarian = Client("c-b", None, 0, None, country="BG", language="bg")
    assert choose_initial(bulgarian, standings, RULES).manager_id == "bg2"
    russian_in_bg = Client("c-r", None, 0, None, country="BG", language="ru")
    assert choose_initial(russian_in_bg, standings, RULES).manager_id == "bg"


def test_initial_without_active_managers_is_deferred() -> None:
    standings = roster(mgr("a", status="on_leave"), mgr("b", status="departed"))
    choice = choose_initial(Client("c", None, 0, None), standings, RULES)
    assert choice.deferred and choice.deferral_reason == "no_active_manager"


def test_a_vip_by_the_shared_rule_is_a_large_client() -> None:
    regular = client(sales_count=10, first_sale_at=NOW - timedelta(days=400), last_sale_at=NOW - timedelta(days=5))
    burst = client(sales_count=10, first_sale_at=NOW - timedelta(days=40), last_sale_at=NOW - timedelta(days=5))
    assert is_large(regular, RULES)
    assert not is_large(burst, RULES)
