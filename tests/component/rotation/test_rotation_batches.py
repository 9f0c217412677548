"""Rotation's batch use cases on whole batches: fairness inside a batch, repairs, lost compare-and-sets."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from clientbase import topics
from clientbase.events.inbound import ActivityRecorded
from clientbase.events.outbound import ClientInactive, ClientMerged, ClientUpdated, LeadSource, SaleAttributed

from rotation_harness import NOW, Harness, days_ago, deliveries, manager, registered


async def roster(h: Harness, *events: Any) -> None:
    await h.batches.roster(deliveries(topics.MANAGERS_CHANGED, list(events)))


async def counters(h: Harness) -> dict[str, tuple[int, int, int]]:
    return {s.manager_id: (s.load, s.received, s.given) for s in await h.service.repo.standings()}


async def test_one_batch_of_new_clients_is_spread_fairly_and_each_assigned_once(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"), manager("m-c"))
    events = [registered(f"c-{n}", days_ago(1)) for n in range(9)]
    await harness.batches.client_events(topics.CLIENTS_REGISTERED, deliveries(topics.CLIENTS_REGISTERED, events))
    assigned = harness.recorder.of(topics.CLIENTS_ASSIGNED)
    assert Counter(e.manager_id for e in assigned) == {"m-a": 3, "m-b": 3, "m-c": 3}
    assert await counters(harness) == {"m-a": (3, 0, 0), "m-b": (3, 0, 0), "m-c": (3, 0, 0)}
    await harness.batches.client_events(topics.CLIENTS_REGISTERED, deliveries(topics.CLIENTS_REGISTERED, events))
    await harness.batches.client_events(topics.CLIENTS_REGISTERED,
                                        deliveries(topics.CLIENTS_REGISTERED, events, redelivered=True))
    again = harness.recorder.of(topics.CLIENTS_ASSIGNED)
    assert {e.event_id: e.manager_id for e in again} == {e.event_id: e.manager_id for e in assigned}
    assert await harness.runtime.db["assignments"].count_documents({}) == 9
    assert await counters(harness) == {"m-a": (3, 0, 0), "m-b": (3, 0, 0), "m-c": (3, 0, 0)}


async def test_a_batch_that_crashed_before_publishing_is_finished_by_its_redelivery(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"))
    events = [registered(f"c-{n}", days_ago(1)) for n in range(4)]
    real = harness.recorder.publish_all

    async def crash(items: Any) -> None:
        raise ConnectionError("broker gone")
    harness.recorder.publish_all = crash  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await harness.batches.client_events(topics.CLIENTS_REGISTERED, deliveries(topics.CLIENTS_REGISTERED, events))
    harness.recorder.publish_all = real  # type: ignore[method-assign]
    owners = {d["_id"]: d["manager_id"] async for d in harness.runtime.db["clients"].find({})}
    await harness.batches.client_events(topics.CLIENTS_REGISTERED,
                                        deliveries(topics.CLIENTS_REGISTERED, events, redelivered=True))
    assigned = harness.recorder.of(topics.CLIENTS_ASSIGNED)
    assert {e.client_id: e.manager_id for e in assigned} == owners and len(assigned) == 4
    assert await counters(harness) == {"m-a": (2, 0, 0), "m-b": (2, 0, 0)}


async def test_registration_update_and_merge_of_one_client_in_one_batch_apply_in_order(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"))
    first = registered("c-1", days_ago(3), handled_by_manager_id="m-a")
    update = ClientUpdated.create(source="intake", lead_source=LeadSource(channel="form"), correlation_id="u",
                                  occurred_at=days_ago(2), client_id="c-1", lead_event_id="l-u", kind="company",
                                  country="RU", language="ru")
    unknown = ClientUpdated.create(source="intake", lead_source=LeadSource(channel="form"), correlation_id="u2",
                                   occurred_at=days_ago(2), client_id="c-2", lead_event_id="l-u2", kind="person",
                                   handled_by_manager_id="m-b")
    await harness.batches.client_events(topics.CLIENTS_REGISTERED, deliveries(topics.CLIENTS_REGISTERED, [first]))
    await harness.batches.client_events(topics.CLIENTS_UPDATED, deliveries(topics.CLIENTS_UPDATED, [update, unknown]))
    doc = await harness.runtime.db["clients"].find_one({"_id": "c-1"})
    assert (doc["kind"], doc["manager_id"], doc["epoch"]) == ("company", "m-a", 1)
    merge = ClientMerged.create(source="intake", correlation_id="m", client_id="c-1", merged_client_id="c-2")
    await harness.batches.client_events(topics.CLIENTS_MERGED, deliveries(topics.CLIENTS_MERGED, [merge, merge]))
    merged = await harness.runtime.db["clients"].find_one({"_id": "c-2"})
    assert (merged["status"], merged["merged_from_manager_id"], "manager_id" in merged) == ("merged", "m-b", False)
    assert await counters(harness) == {"m-a": (1, 0, 0), "m-b": (0, 0, 0)}


async def test_a_lost_compare_and_set_falls_back_to_the_event_path(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"), manager("m-c"))
    await harness.batches.client_events(topics.CLIENTS_REGISTERED, deliveries(
        topics.CLIENTS_REGISTERED, [registered(f"c-{n}", days_ago(200), handled_by_manager_id="m-a") for n in range(2)]))
    inactive = [ClientInactive.create(source="rotation", correlation_id="x", client_id=f"c-{n}", manager_id="m-a",
                                      trigger="no_first_sale", as_of=NOW, assignment_epoch=1) for n in range(2)]
    batches = harness.batches
    read = batches.reads.by_ids

    async def stale_read(collection: Any, ids: Any, projection: Any = None) -> dict[str, Any]:
        docs = await read(collection, ids, projection)
        await harness.runtime.db["clients"].update_one({"_id": "c-0"}, {"$set": {"deferrals": 1}})  # another writer
        return docs
    batches.reads.by_ids = stale_read  # type: ignore[method-assign]
    try:
        await batches.inactive(deliveries(topics.CLIENTS_INACTIVE, inactive))
    finally:
        batches.reads.by_ids = read  # type: ignore[method-assign]
    moved = [e for e in harness.recorder.of(topics.CLIENTS_ASSIGNED) if e.reason != "initial"]
    assert [e.client_id for e in moved] == ["c-1"], "c-0's guard lost; the event path then found it stale"
    doc = await harness.runtime.db["clients"].find_one({"_id": "c-0"})
    assert (doc["epoch"], doc["manager_id"]) == (1, "m-a")


async def test_rotations_of_one_batch_see_each_other_in_the_standings(harness: Harness) -> None:
    await roster(harness, manager("m-a"), manager("m-b"), manager("m-c"))
    await harness.batches.client_events(topics.CLIENTS_REGISTERED, deliveries(
        topics.CLIENTS_REGISTERED, [registered(f"c-{n}", days_ago(200), handled_by_manager_id="m-a") for n in range(6)]))
    inactive = [ClientInactive.create(source="rotation", correlation_id="x", client_id=f"c-{n}", manager_id="m-a",
                                      trigger="no_first_sale", as_of=NOW, assignment_epoch=1) for n in range(6)]
    await harness.batches.inactive(deliveries(topics.CLIENTS_INACTIVE, inactive))
    moved = [e for e in harness.recorder.of(topics.CLIENTS_ASSIGNED) if e.reason == "no_first_sale"]
    assert Counter(e.manager_id for e in moved) == {"m-b": 3, "m-c": 3}
    assert len(harness.recorder.of(topics.HANDOVERS_OPENED)) == 6
    assert await counters(harness) == {"m-a": (0, 0, 6), "m-b": (3, 3, 0), "m-c": (3, 3, 0)}
    await harness.batches.inactive(deliveries(topics.CLIENTS_INACTIVE, inactive, redelivered=True))
    assert len({e.event_id for e in harness.recorder.of(topics.CLIENTS_ASSIGNED)}) == 12
    assert await counters(harness) == {"m-a": (0, 0, 6), "m-b": (3, 3, 0), "m-c": (3, 3, 0)}


async def test_sales_and_activities_before_the_registration_are_kept(harness: Harness) -> None:
    def sale(sale_id: str, days: float) -> SaleAttributed:
        return SaleAttributed.create(source="intake", correlation_id="s", client_id="c-1", sale_event_id=sale_id,
                                     order_id=sale_id, kind="order", amount=Decimal("10"), currency="RUB",
                                     sold_at=days_ago(days))
    activity = ActivityRecorded(event_id=str(uuid.uuid4()), occurred_at=days_ago(4), client_id="c-1",
                                manager_id="m-a", kind="call")
    await harness.batches.activities(deliveries(topics.ACTIVITIES_RECORDED, [activity]))
    await harness.batches.sales(deliveries(topics.SALES_ATTRIBUTED, [sale("s1", 5), sale("s2", 3), sale("s1", 5)]))
    await harness.batches.sales(deliveries(topics.SALES_ATTRIBUTED, [sale("s2", 3), sale("s3", 1)]))
    await roster(harness, manager("m-a"))
    await harness.batches.client_events(topics.CLIENTS_REGISTERED,
                                        deliveries(topics.CLIENTS_REGISTERED, [registered("c-1", days_ago(6))]))
    doc = await harness.runtime.db["clients"].find_one({"_id": "c-1"})
    assert (doc["sales_count"], doc["revenue"], doc["has_sale"], doc["manager_id"]) == (3, 30.0, True, "m-a")
    assert doc["last_activity_at"] == days_ago(4) and doc["activity_since"] == days_ago(1)
    assert doc["first_sale_at"] == days_ago(5)


async def test_a_roster_change_gives_waiting_clients_out_fairly_oldest_first_within_capacity(harness: Harness) -> None:
    harness.settings = harness.settings.model_copy(update={"unassigned_retry_batch_size": 2})
    await roster(harness, manager("m-away", status="on_leave"))
    events = [registered(f"c-{n}", days_ago(10 - n)) for n in range(7)]
    await harness.batches.client_events(topics.CLIENTS_REGISTERED, deliveries(topics.CLIENTS_REGISTERED, events))
    assert len(harness.recorder.of(topics.ROTATIONS_DEFERRED)) == 7
    change = [manager("m-1", capacity=2), manager("m-2", capacity=3)]
    await roster(harness, *change)
    assigned = harness.recorder.of(topics.CLIENTS_ASSIGNED)
    assert sorted(e.client_id for e in assigned) == [f"c-{n}" for n in range(5)], "oldest first, up to capacity"
    assert Counter(e.manager_id for e in assigned) == {"m-1": 2, "m-2": 3}
    await roster(harness, *change)  # the same roster again changes nothing
    await harness.batches.roster(deliveries(topics.MANAGERS_CHANGED, change, redelivered=True))
    republished = harness.recorder.of(topics.CLIENTS_ASSIGNED)
    assert len(republished) == 10 and {e.event_id for e in republished} == {e.event_id for e in assigned}
    await roster(harness, manager("m-1", capacity=4, at=NOW + timedelta(hours=1)))
    assert sorted({e.client_id for e in harness.recorder.of(topics.CLIENTS_ASSIGNED)}) == [f"c-{n}" for n in range(7)]
    assert await counters(harness) == {"m-away": (0, 0, 0), "m-1": (4, 0, 0), "m-2": (3, 0, 0)}


async def test_a_batch_deferred_before_a_concurrent_roster_change_is_retried_at_once(harness: Harness) -> None:
    batches = harness.batches
    standings = batches.repo.standings
    calls = 0

    async def roster_arrives_meanwhile() -> Any:
        nonlocal calls
        calls += 1
        result = await standings()
        if calls == 1:  # the roster consumer saves the manager right after this batch read the standings
            await harness.runtime.db["managers"].insert_one({"_id": "m-late", "name": "late", "grade": 1,
                                                             "status": "active", "capacity": 10, "occurred_at": NOW})
        return result
    batches.repo.standings = roster_arrives_meanwhile  # type: ignore[method-assign]
    await batches.client_events(topics.CLIENTS_REGISTERED,
                                deliveries(topics.CLIENTS_REGISTERED, [registered("c-1", days_ago(1))]))
    assert [e.reason for e in harness.recorder.of(topics.ROTATIONS_DEFERRED)] == ["no_active_manager"]
    [assigned] = harness.recorder.of(topics.CLIENTS_ASSIGNED)
    assert (assigned.client_id, assigned.manager_id) == ("c-1", "m-late")
    await batches.client_events(topics.CLIENTS_REGISTERED, deliveries(
        topics.CLIENTS_REGISTERED, [registered("c-1", days_ago(1))], redelivered=True))
    assert len({e.event_id for e in harness.recorder.of(topics.CLIENTS_ASSIGNED)}) == 1
