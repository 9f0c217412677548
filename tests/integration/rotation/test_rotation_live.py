"""Rotation on the real Kafka broker and MongoDB-compatible server, with the sweep's clock set by --as-of."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from clientbase import topics
from clientbase.events.inbound import ActivityRecorded, ManagerChanged
from clientbase.events.outbound import SaleAttributed

from rotation_live_kit import AS_OF, Live, wait_for
from rotation import cli

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]



async def setup_roster(live: Live, *managers: ManagerChanged) -> None:
    """Publish managers and wait until the roster has them, as registrations travel on another topic."""
    for event in managers:
        await live.send(topics.MANAGERS_CHANGED, event, key=event.manager_id)

    async def known() -> bool:
        ids = [m.manager_id for m in managers]
        return await live.db["managers"].count_documents({"_id": {"$in": ids}}) == len(ids)
    await wait_for(known)


def peers(live: Live, *names: str) -> list[ManagerChanged]:
    """Active managers of the test's own grade."""
    return [live.manager(name, live.grade) for name in names]


async def register(live: Live, name: str, days: int, handled_by: str) -> None:
    event = live.registered(name, AS_OF - timedelta(days=days), handled_by)
    await live.send(topics.CLIENTS_REGISTERED, event, key=event.client_id)


async def assigned(live: Live, count: int, reason: str) -> None:
    async def enough() -> bool:
        return len({e["client_id"] for e in live.mine(topics.CLIENTS_ASSIGNED, reason=reason)}) >= count
    await wait_for(enough)


async def run_cli(live: Live, *argv: str) -> str:
    out = io.StringIO()
    assert await cli.run(list(argv), live.settings, out) == 0
    return out.getvalue()


async def test_sweep_as_of_rotates_181_days_and_366_since_last_sale_but_not_179(live: Live) -> None:
    async with live.app():
        await setup_roster(live, *peers(live, "a", "b"), live.manager("head", live.grade + 2, is_head=True))
        await register(live, "c181", 181, "a")
        await register(live, "c179", 179, "a")
        await register(live, "buyer366", 900, "a")
        await register(live, "buyer300", 900, "a")
        await assigned(live, 4, "initial")
        for name, days in (("buyer366", 366), ("buyer300", 300)):
            sale = SaleAttributed.create(source="intake", correlation_id="s", client_id=live.id(name),
                                         sale_event_id=str(uuid.uuid4()), order_id=f"SO-{name}", kind="shipment",
                                         amount=Decimal("250.00"), currency="RUB", sold_at=AS_OF - timedelta(days=days))
            await live.send(topics.SALES_ATTRIBUTED, sale, key=sale.client_id)

        async def sales_counted() -> bool:
            return await live.db["clients"].count_documents({"sales_count": 1}) == 2
        await wait_for(sales_counted)

        out = await run_cli(live, "sweep", "--as-of", AS_OF.isoformat())
        assert out.startswith("emitted 2 inactive")
        await assigned(live, 1, "no_first_sale")
        await assigned(live, 1, "no_repeat_sale")
        moved = {e["client_id"]: (e["previous_manager_id"], e["manager_id"], e["reason"])
                 for e in live.mine(topics.CLIENTS_ASSIGNED) if e["reason"] != "initial"}
        assert moved == {live.id("c181"): (live.id("a"), live.id("b"), "no_first_sale"),
                         live.id("buyer366"): (live.id("a"), live.id("b"), "no_repeat_sale")}
        epochs = {d["_id"]: d["epoch"] async for d in live.db["clients"].find({}, {"epoch": 1})}
        assert epochs[live.id("c179")] == 1 and epochs[live.id("buyer300")] == 1

        report = ActivityRecorded(event_id=str(uuid.uuid4()), occurred_at=AS_OF + timedelta(days=2),
                                  client_id=live.id("buyer366"), manager_id=live.id("b"), kind="handover_report")
        await live.send(topics.ACTIVITIES_RECORDED, report, key=report.client_id)

        async def reported() -> bool:
            return await live.db["handovers"].count_documents({"status": "reported"}) == 1
        await wait_for(reported)
        out = await run_cli(live, "overdue", "--as-of", (AS_OF + timedelta(days=15)).isoformat())
        assert out.startswith("escalated 1 ")

        async def escalated() -> bool:
            return bool(live.mine(topics.HANDOVERS_OVERDUE))
        await wait_for(escalated)
    overdue = live.mine(topics.HANDOVERS_OVERDUE)
    assert [(e["client_id"], e["manager_id"], e["head_manager_id"]) for e in overdue] == \
        [(live.id("c181"), live.id("b"), live.id("head"))]


async def test_departed_managers_30_clients_are_spread_over_eligible_peers(live: Live) -> None:
    async with live.app():
        await setup_roster(live, *peers(live, "gone", "p1", "p2", "p3"), live.manager("senior", live.grade + 1),
                           live.manager("away", live.grade, status="on_leave"))
        for n in range(30):
            await register(live, f"c{n:02}", 20, "gone")
        await assigned(live, 30, "initial")
        departed = live.manager("gone", live.grade, status="departed", at=AS_OF)
        await live.send(topics.MANAGERS_CHANGED, departed, key=departed.manager_id)
        await assigned(live, 30, "manager_departed")
    moved = live.mine(topics.CLIENTS_ASSIGNED, reason="manager_departed")
    per_peer = Counter(e["manager_id"] for e in {e["client_id"]: e for e in moved}.values())
    assert per_peer == {live.id("p1"): 10, live.id("p2"): 10, live.id("p3"): 10}
    assert all(e["handover_deadline"] is not None for e in moved)
    assert len({e["client_id"] for e in live.mine(topics.HANDOVERS_OPENED)}) == 30


async def test_two_sweeps_at_once_a_rerun_and_full_redelivery_reassign_each_client_once(live: Live) -> None:
    clients = [f"c{n}" for n in range(8)]
    async with live.app():
        await setup_roster(live, *peers(live, "a", "b", "c"))
        for n, name in enumerate(clients):
            await register(live, name, 200 + n, "a")
        await assigned(live, len(clients), "initial")
        argv = ("sweep", "--as-of", AS_OF.isoformat())
        await asyncio.gather(run_cli(live, *argv), run_cli(live, *argv))
        await assigned(live, len(clients), "no_first_sale")
        assert (await run_cli(live, *argv)).startswith("emitted 0 inactive")
    async with live.app(group_id=f"{live.settings.group_id}-replay"):  # every input event delivered again

        async def replayed() -> bool:
            return await live.db["processed_events"].count_documents(
                {"_id": {"$regex": "-replay:clients.inactive:"}}) >= len(clients)
        await wait_for(replayed)
    reassignments = live.mine(topics.CLIENTS_ASSIGNED, reason="no_first_sale")
    assert len({e["event_id"] for e in reassignments}) == len(clients), "one event id per client, however often sent"
    assert Counter(e["client_id"] for e in {e["event_id"]: e for e in reassignments}.values()) == \
        {live.id(c): 1 for c in clients}
    inactive_ids = {e["event_id"] for e in live.mine(topics.CLIENTS_INACTIVE)}
    assert len(inactive_ids) == len(clients)
    epochs = [d["epoch"] async for d in live.db["clients"].find({})]
    assert epochs == [2] * len(clients)
    assert await live.db["assignments"].count_documents({"reason": "no_first_sale"}) == len(clients)
    history = json.loads(await run_cli(live, "history", live.id("c0"), "--json"))
    assert [a["reason"] for a in history["assignments"]] == ["initial", "no_first_sale"]


async def test_nobody_eligible_publishes_a_deferred_outcome_and_the_client_stays(live: Live) -> None:
    async with live.app():
        await setup_roster(live, live.manager("alone", live.grade), live.manager("senior", live.grade + 1))
        await register(live, "c1", 190, "alone")
        await assigned(live, 1, "initial")
        await run_cli(live, "sweep", "--as-of", AS_OF.isoformat())

        async def deferred() -> bool:
            return bool(live.mine(topics.ROTATIONS_DEFERRED))
        await wait_for(deferred)
    [outcome] = list({e["event_id"]: e for e in live.mine(topics.ROTATIONS_DEFERRED)}.values())  # at-least-once
    assert (outcome["manager_id"], outcome["reason"], outcome["attempt"]) == \
        (live.id("alone"), "no_eligible_manager", 0)
    doc = await live.db["clients"].find_one({"_id": live.id("c1")})
    assert doc["manager_id"] == live.id("alone") and doc["epoch"] == 1 and doc["deferrals"] == 1
