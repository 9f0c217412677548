"""End to end over a scripted history: ten simulated months of a company fed at the edges, checked from outside.

The four services run as processes on topics of their own. The story (clientbase.system.story) is played
with rotation's sweeps at each month's end; the final state is read from the public topics, the SMTP
server, the SMS sink and the metrics read API, and compared with a reference computed from the script.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from clientbase.system.player import Player
from clientbase.system.secrets import local_secrets
from clientbase.system.services import SERVICES
from clientbase.system.story import Purchase, Story, build_story

pytestmark = pytest.mark.e2e

ACTIVITY_WINDOW_DAYS = 90
NO_FIRST_SALE_DAYS = 180


@pytest.fixture(scope="module")
def system_env(stack_endpoints: Any) -> dict[str, str]:
    """An always-open send window, and a short activity window so customers lapse within the story."""
    return {"NOTIFY_QUIET_START": "00:00", "NOTIFY_QUIET_END": "00:00", "NOTIFY_SCHEDULER_INTERVAL_S": "1",
            "NOTIFY_RECIPIENT_RETRY_S": "1", "METRICS_ACTIVITY_WINDOW_DAYS": str(ACTIVITY_WINDOW_DAYS),
            "ROTATION_NO_FIRST_SALE_DAYS": str(NO_FIRST_SALE_DAYS)}


@pytest.fixture(scope="module")
async def played(running_system, stack_endpoints) -> tuple[Story, Player]:
    """The story played to its end against the running system."""
    story = build_story(seed=11, persons=int(os.environ.get("STORY_PERSONS", "36")), months=int(os.environ.get("STORY_MONTHS", "10")), tag=uuid.uuid4().hex[:6])
    player = Player(story, running_system.kafka_bootstrap, prefix=running_system.prefix,
                    groups=running_system.groups, rotation_env=running_system.rotation_env())
    await player.play()
    return story, player


# --- the reference: plain Python over the script, from DESIGN §2.2 and §2.5 ---------------------------------

def first_purchase(story: Story) -> dict[str, datetime]:
    """Each customer's first purchase."""
    first: dict[str, datetime] = {}
    for p in story.purchases:
        first[p.person] = min(first.get(p.person, p.at), p.at)
    return first


def month_starts(first: date, last: date) -> list[date]:
    """First days of the months from `first` up to and including `last`."""
    days, current = [], first
    while current <= last:
        days.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return days


def active_at(purchases: list[Purchase], t: datetime) -> set[str]:
    """Customers whose last purchase at or before t is at most the activity window before t."""
    last: dict[str, datetime] = {}
    for p in purchases:
        if p.at <= t:
            last[p.person] = max(last.get(p.person, p.at), p.at)
    return {person for person, at in last.items() if t - at <= timedelta(days=ACTIVITY_WINDOW_DAYS)}


def reference_months(story: Story, first: date, before: date) -> list[dict[str, Any]]:
    """Orders, revenue, S, E, N, lost, CRR and churn per calendar month (UTC) of [first, before)."""
    firsts = first_purchase(story)
    rows = []
    starts = month_starts(first, before)
    for start, end in zip(starts, starts[1:], strict=False):
        t0, t1 = (datetime.combine(d, datetime.min.time(), tzinfo=UTC) for d in (start, end))
        in_period = [p for p in story.purchases if t0 <= p.at < t1]
        s, e = active_at(story.purchases, t0), active_at(story.purchases, t1)
        n = {person for person, at in firsts.items() if t0 <= at < t1}
        lost = (s | n) - e
        revenue: dict[str, float] = defaultdict(float)
        for p in in_period:
            revenue[p.currency] += p.amount
        rows.append({"start": start.isoformat(), "orders": len(in_period), "revenue": dict(revenue), "S": len(s),
                     "E": len(e), "N": len(n), "lost": len(lost),
                     "crr": round((len(e) - len(n)) / len(s) * 100, 2) if s else None,
                     "churn": round(len(lost) / len(s) * 100, 2) if s else None})
    return rows


# --- the checks ------------------------------------------------------------------------------------------------

async def test_every_person_is_one_live_client_and_bad_input_is_kept(played) -> None:
    story, player = played
    clients = {key: player.client_of(key) for key in story.persons}
    unknown = sorted(key for key, client in clients.items() if client is None)
    assert not unknown, f"persons the services never registered: {unknown}"
    assert len(set(clients.values())) == len(story.persons), "two persons share a client"
    assert player.seen.live_clients() == set(clients.values()), (
        f"live clients {len(player.seen.live_clients())} vs persons {len(story.persons)}")
    assert {player.client_of(key) for key in story.split_persons} <= set(player.seen.survivor.values()), \
        "a person first known by phone, then by email, is merged into one client"
    assert len(player.seen.rejected) == story.rejected, dict(player.seen.rejection_reasons)


async def test_every_client_has_an_active_owner_of_its_country_and_nobody_waited_for_a_sweep(played) -> None:
    story, player = played
    country_of = {m["manager_id"]: m["regions"][0] for m in story.managers if not m.get("is_head")}
    rotated = {r["client_id"] for r in player.seen.rotations}
    wrong = {}
    for key, person in story.persons.items():
        client = player.client_of(key)
        owner = player.seen.owner.get(client)
        if owner is None or owner == story.departed or owner not in country_of:
            wrong[key] = ("no active owner", owner)
        elif client not in rotated and country_of[owner] != person.country.code:
            wrong[key] = ("first owner not of the client's country", person.country.code, owner)
    assert not wrong, f"clients without a fitting owner: {wrong}"
    assert player.seen.deferrals.get("no_active_manager", 0) == 0, dict(player.seen.deferrals)


async def test_rotations_follow_the_rules_with_their_reasons(played) -> None:
    story, player = played
    departed = [r for r in player.seen.rotations if r["reason"] == "manager_departed"]
    assert departed, "the departing manager's clients are rotated"
    assert {r["previous_manager_id"] for r in departed} == {story.departed}
    grade = {m["manager_id"]: m["grade"] for m in story.managers}
    assert {grade[r["manager_id"]] for r in departed} == {grade[story.departed]}, "a peer of the same grade"
    moved_at_departure = {r["client_id"] for r in departed}
    person_of = {player.client_of(key): key for key in story.persons}
    firsts = first_purchase(story)
    first_lead = {key: min(at for at in lead_times(story, key)) for key in story.persons}
    sweeps = [d.sweep_as_of for d in story.days if d.sweep_as_of is not None]
    expected = set()
    for key in story.persons:
        if key in story.split_persons or player.client_of(key) in moved_at_departure:
            continue
        for as_of in sweeps:
            if first_lead[key] + timedelta(days=NO_FIRST_SALE_DAYS) < as_of and not (key in firsts and firsts[key] < as_of):
                expected.add(key)
                break
    rotated = {person_of.get(r["client_id"]) for r in player.seen.rotations if r["reason"] == "no_first_sale"}
    rotated.discard(None)
    assert rotated - set(story.split_persons) == expected, {
        "unexpected": sorted(rotated - expected - set(story.split_persons)), "missing": sorted(expected - rotated)}
    assert player.seen.handovers == len(player.seen.rotations), "every rotation opens a handover"


def lead_times(story: Story, key: str) -> list[datetime]:
    """When the person's leads were published (their occurred_at)."""
    import json
    return [datetime.fromisoformat(json.loads(e.value)["occurred_at"]) for d in story.days for e in d.edges
            if e.person == key]


def expected_outcome(story: Story, request: dict[str, Any]) -> str:
    """The final outcome a request must get, from the person's contact points and consents (DESIGN §3.6)."""
    person = story.persons[request["person"]]
    if request["channel"] == "email" and person.email is None:
        return "suppressed:no_address"
    if request["category"] == "service":
        return "sent"
    consent = person.sms_consent if request["channel"] == "sms" else person.email_consent
    if not consent:
        return "suppressed:no_consent"
    return "sent" if request["channel"] == "sms" else "suppressed:unconfirmed"


async def test_messages_go_only_where_consented_and_land_on_the_smtp_server_and_sms_sink(
        played, running_system, stack_endpoints) -> None:
    story, player = played
    requests = player.played.notification_requests
    assert requests, "the story asks for messages"
    got = {rid: player.seen.outcomes.get(rid) for rid in requests}
    missing = sorted(rid for rid, outcome in got.items() if outcome is None or outcome["status"] == "deferred")
    assert not missing, f"{len(missing)} requests without a final outcome"
    wrong = {}
    for rid, request in requests.items():
        outcome = got[rid]
        status = outcome["status"] if outcome["status"] == "sent" else f"{outcome['status']}:{outcome['reason']}"
        if status != expected_outcome(story, request):
            wrong[rid] = (request, status)
    assert not wrong, f"outcomes differ from the rules: {list(wrong.values())[:5]}"
    mailpit = stack_endpoints.mailpit_url.rstrip("/")
    async with httpx.AsyncClient() as http:
        for request in requests.values():
            if request["category"] == "service" and request["channel"] == "email":
                order_id = request["params"]["order_id"]
                found = (await http.get(f"{mailpit}/api/v1/search", params={"query": f'subject:"{order_id}"'})).json()
                assert found["messages_count"] == 1, (order_id, found["messages_count"])
        sink = (await http.get(f"{running_system.launcher.sms_sink_url}/messages")).json()
    sent_sms = [r for rid, r in requests.items() if r["channel"] == "sms" and got[rid]["status"] == "sent"]
    phones = [m.get("to") or m.get("To") for m in (sink if isinstance(sink, list) else sink.get("messages", []))]
    expected_phones = sorted(story.persons[r["person"]].e164 for r in sent_sms)
    assert sorted(p for p in phones if p in set(expected_phones)) == expected_phones


async def test_figures_in_the_read_api_equal_the_reference(played, running_system) -> None:
    story, _ = played
    token = local_secrets(running_system.launcher.config.state_dir)["METRICS_API_TOKEN"]
    metrics = next(spec for spec in SERVICES if spec.name == "metrics")
    first, before = date(2026, 1, 1), date(2026, 11, 1)
    expected = reference_months(story, first, before)
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"http://127.0.0.1:{metrics.port}/metrics/retention",
                                params={"period": "month", "from": first.isoformat(), "to": before.isoformat()},
                                headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    actual = [{"start": i["period_start"][:10], "orders": i["orders"],
               "revenue": {c: float(v) for c, v in i["revenue"].items()}, "S": i["customers_start"],
               "E": i["customers_end"], "N": i["new_customers"], "lost": i["lost_customers"], "crr": i["crr"],
               "churn": i["churn_rate"]} for i in items]
    assert actual == expected
