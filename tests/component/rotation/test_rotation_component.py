"""Rotation's handlers and use cases on FastStream's in-memory broker, with MongoDB holding the state."""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from clientbase import topics
from clientbase.events.inbound import ActivityRecorded
from clientbase.events.outbound import ClientInactive, ClientMerged, SaleAttributed

from rotation_harness import NOW, Harness, days_ago, manager, registered
from rotation import cli


async def roster(h: Harness, *events: object) -> None:
    for event in events:
        await h.send(topics.MANAGERS_CHANGED, event)


def sale(client_id: str, days: float) -> SaleAttributed:
    return SaleAttributed.create(source="intake", correlation_id="s", client_id=client_id,
                                 sale_event_id=str(uuid.uuid4()), order_id="SO-1", kind="order",
                                 amount=Decimal("100"), currency="RUB", sold_at=days_ago(days))


async def test_new_client_goes_to_the_manager_who_answered_and_a_redelivery_adds_nothing(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"))
    event = registered("c-1", days_ago(1), handled_by_manager_id="m-b")
    await harness.send(topics.CLIENTS_REGISTERED, event)
    await harness.send(topics.CLIENTS_REGISTERED, event)
    await harness.service.register_client(event)  # the effect repeated past the dedupe, as after a crash
    assigned = harness.recorder.of(topics.CLIENTS_ASSIGNED)
    assert {(e.event_id, e.manager_id, e.reason) for e in assigned} == {(assigned[0].event_id, "m-b", "initial")}
    assert assigned[0].decision["rule"] == "answered_the_call"
    assert await harness.runtime.db["assignments"].count_documents({"client_id": "c-1"}) == 1


async def test_client_past_180_days_is_reassigned_with_a_handover_deadline(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"), manager("m-senior", grade=2))
    await harness.send(topics.CLIENTS_REGISTERED, registered("c-old", days_ago(181), handled_by_manager_id="m-a"))
    await harness.send(topics.CLIENTS_REGISTERED, registered("c-new", days_ago(179), handled_by_manager_id="m-a"))
    report = await harness.sweeper.sweep(NOW)
    assert [p.client_id for p in report.plan] == ["c-old"]
    moved = [e for e in harness.recorder.of(topics.CLIENTS_ASSIGNED) if e.reason != "initial"]
    assert [(e.client_id, e.previous_manager_id, e.manager_id, e.reason) for e in moved] == \
        [("c-old", "m-a", "m-b", "no_first_sale")]
    assert moved[0].handover_deadline == NOW + timedelta(days=14)
    assert moved[0].rule_version == "rotation-2026.1"
    assert moved[0].decision["excluded"] == {"grade": 1}
    opened = harness.recorder.of(topics.HANDOVERS_OPENED)
    assert [(e.client_id, e.manager_id, e.deadline) for e in opened] == [("c-old", "m-b", NOW + timedelta(days=14))]


async def test_a_sale_arriving_before_the_rotator_keeps_the_client(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"))
    await harness.send(topics.CLIENTS_REGISTERED, registered("c-1", days_ago(200), handled_by_manager_id="m-a"))
    inactive = ClientInactive.create(source="rotation", correlation_id="x", client_id="c-1", manager_id="m-a",
                                     trigger="no_first_sale", as_of=NOW, assignment_epoch=1)
    await harness.send(topics.SALES_ATTRIBUTED, sale("c-1", 3))
    assert await harness.service.rotate(inactive) == "obsolete"
    assert [e.reason for e in harness.recorder.of(topics.CLIENTS_ASSIGNED)] == ["initial"]
    await harness.sweeper.sweep(NOW + timedelta(days=360))
    assert [e.reason for e in harness.recorder.of(topics.CLIENTS_ASSIGNED)] == ["initial"]
    await harness.sweeper.sweep(NOW + timedelta(days=400))
    assert [e.reason for e in harness.recorder.of(topics.CLIENTS_ASSIGNED)] == ["initial", "no_repeat_sale"]


async def test_no_eligible_manager_defers_and_the_next_sweep_retries(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-senior", grade=2), manager("m-away", status="on_leave"))
    await harness.send(topics.CLIENTS_REGISTERED, registered("c-1", days_ago(200), handled_by_manager_id="m-a"))
    await harness.sweeper.sweep(NOW)
    await harness.sweeper.sweep(NOW + timedelta(days=1))
    deferred = harness.recorder.of(topics.ROTATIONS_DEFERRED)
    assert [(e.client_id, e.manager_id, e.reason, e.attempt) for e in deferred] == \
        [("c-1", "m-a", "no_eligible_manager", 0), ("c-1", "m-a", "no_eligible_manager", 1)]
    assert deferred[0].decision["excluded"] == {"grade": 1, "status_on_leave": 1}
    await roster(harness, manager("m-b"))
    await harness.sweeper.sweep(NOW + timedelta(days=2))
    moved = [e for e in harness.recorder.of(topics.CLIENTS_ASSIGNED) if e.reason != "initial"]
    assert [(e.manager_id, e.previous_manager_id) for e in moved] == [("m-b", "m-a")]
    assert all(e.manager_id not in {"m-away", "m-senior"} for e in harness.recorder.of(topics.CLIENTS_ASSIGNED))


async def test_handover_report_closes_it_and_a_missed_deadline_is_escalated_once(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"), manager("m-head", grade=3, is_head=True))
    for cid in ("c-1", "c-2"):
        await harness.send(topics.CLIENTS_REGISTERED, registered(cid, days_ago(200), handled_by_manager_id="m-a"))
    await harness.sweeper.sweep(NOW)
    await harness.send(topics.ACTIVITIES_RECORDED, ActivityRecorded(
        event_id=str(uuid.uuid4()), occurred_at=NOW + timedelta(days=3), client_id="c-1", manager_id="m-b",
        kind="handover_report", summary="called, wants a quote"))
    await harness.sweeper.sweep(NOW + timedelta(days=15))
    await harness.sweeper.sweep(NOW + timedelta(days=16))
    overdue = harness.recorder.of(topics.HANDOVERS_OVERDUE)
    assert [(e.client_id, e.manager_id, e.head_manager_id) for e in overdue] == [("c-2", "m-b", "m-head")]


async def test_departed_managers_clients_are_spread_over_peers(harness: Harness) -> None:
    await roster(harness, manager("m-gone"), manager("m-1"), manager("m-2"), manager("m-3"),
                 manager("m-senior", grade=2))
    for n in range(12):
        await harness.send(topics.CLIENTS_REGISTERED,
                           registered(f"c-{n:02}", days_ago(10), handled_by_manager_id="m-gone"))
    await roster(harness, manager("m-gone", status="departed", at=NOW + timedelta(hours=1)))
    moved = [e for e in harness.recorder.of(topics.CLIENTS_ASSIGNED) if e.reason == "manager_departed"]
    assert len(moved) == 12
    assert Counter(e.manager_id for e in moved) == {"m-1": 4, "m-2": 4, "m-3": 4}


async def test_merged_client_keeps_one_owner_and_leaves_the_sweep(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"))
    await harness.send(topics.CLIENTS_REGISTERED, registered("c-1", days_ago(200), handled_by_manager_id="m-a"))
    await harness.send(topics.CLIENTS_REGISTERED, registered("c-2", days_ago(200), handled_by_manager_id="m-b"))
    await harness.send(topics.CLIENTS_MERGED, ClientMerged.create(source="intake", correlation_id="x",
                                                                  client_id="c-1", merged_client_id="c-2"))
    report = await harness.sweeper.sweep(NOW, apply=False)
    assert [p.client_id for p in report.plan] == ["c-1"]
    standings = {s.manager_id: s.load for s in await harness.service.repo.standings()}
    assert standings == {"m-a": 1, "m-b": 0}


async def test_plan_is_what_applying_does_and_history_explains_it(harness: Harness) -> None:
    await roster(harness, *(manager(f"m-{n}") for n in range(4)))
    for n in range(10):
        await harness.send(topics.CLIENTS_REGISTERED,
                           registered(f"c-{n}", days_ago(190 + n), handled_by_manager_id=f"m-{n % 2}"))
    out = io.StringIO()
    assert await cli.run(["plan", "--as-of", NOW.isoformat(), "--json"], harness.settings, out) == 0
    plan = {line["client_id"]: line["to_manager_id"] for line in json.loads(out.getvalue())["plan"]}
    assert len(plan) == 10
    await harness.sweeper.sweep(NOW)
    applied = {e.client_id: e.manager_id for e in harness.recorder.of(topics.CLIENTS_ASSIGNED)
               if e.reason == "no_first_sale"}
    assert applied == plan
    table = io.StringIO()
    await cli.run(["plan", "--as-of", NOW.isoformat()], harness.settings, table)
    assert "0 client(s) due" in table.getvalue()
    history = io.StringIO()
    assert await cli.run(["history", "c-3"], harness.settings, history) == 0
    lines = history.getvalue().splitlines()
    assert lines[0].startswith("#1 ") and "initial: - -> m-1" in lines[0]
    assert lines[1].startswith("#2 ") and f"no_first_sale: m-1 -> {plan['c-3']}" in lines[1]


async def test_load_and_balance_counters_match_the_records_despite_repeated_effects(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"), manager("m-c"))
    for n in range(6):
        await harness.send(topics.CLIENTS_REGISTERED, registered(f"c-{n}", days_ago(200), handled_by_manager_id="m-a"))
    await harness.sweeper.sweep(NOW)
    db = harness.runtime.db
    async for doc in db["clients"].find({}):
        await harness.service.finish(doc)  # every effect once more, as after a crash before the offset commit
    merge = ClientMerged.create(source="intake", correlation_id="x", client_id="c-0", merged_client_id="c-1")
    await harness.service.merge(merge)
    await harness.service.merge(merge)
    counted = {s.manager_id: (s.load, s.received, s.given) for s in await harness.service.repo.standings()}
    truth = {}
    for m in ("m-a", "m-b", "m-c"):
        truth[m] = (await db["clients"].count_documents({"manager_id": m, "status": "owned"}),
                    await db["assignments"].count_documents({"manager_id": m, "rotation": True}),
                    await db["assignments"].count_documents({"previous_manager_id": m, "rotation": True}))
    assert counted == truth
    assert counted["m-a"] == (0, 0, 6) and counted["m-b"][1] + counted["m-c"][1] == 6
    assert counted["m-b"][0] + counted["m-c"][0] == 5, "the merged client no longer counts"


async def test_a_client_nobody_could_take_is_assigned_when_a_manager_becomes_available(harness: Harness) -> None:
    await roster(harness, manager("m-away", status="on_leave"))
    await harness.send(topics.CLIENTS_REGISTERED, registered("c-1", days_ago(2)))
    [deferred] = harness.recorder.of(topics.ROTATIONS_DEFERRED)
    assert (deferred.trigger, deferred.reason, deferred.manager_id) == ("initial", "no_active_manager", None)
    await harness.sweeper.sweep(NOW)
    assert harness.recorder.of(topics.CLIENTS_ASSIGNED) == []
    assert [e.attempt for e in harness.recorder.of(topics.ROTATIONS_DEFERRED)] == [0, 1]
    await roster(harness, manager("m-ru"))  # no sweep: the roster change itself retries the waiting client
    [assigned] = harness.recorder.of(topics.CLIENTS_ASSIGNED)
    assert (assigned.client_id, assigned.manager_id, assigned.reason) == ("c-1", "m-ru", "initial")
    assert assigned.occurred_at == NOW, "as of the later of the registration and the roster change"
    assert (await harness.sweeper.sweep(NOW)).unassigned_retried == 0


async def test_a_sweep_still_assigns_a_waiting_client_as_a_backstop(harness: Harness) -> None:
    await roster(harness, manager("m-away", status="on_leave"))
    await harness.send(topics.CLIENTS_REGISTERED, registered("c-1", days_ago(2)))
    await harness.runtime.db["managers"].update_one({"_id": "m-away"}, {"$set": {"status": "active"}})
    report = await harness.sweeper.sweep(NOW)
    assert report.unassigned_retried == 1
    [assigned] = harness.recorder.of(topics.CLIENTS_ASSIGNED)
    assert (assigned.client_id, assigned.manager_id) == ("c-1", "m-away")
