"""Rotation's batch consumers on the real broker and server: one batch of mixed records, and clients before the roster."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from clientbase import topics

from rotation.repository import RotationRepository
from rotation_live_kit import AS_OF, Live, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


async def dlq_end(live: Live) -> int:
    """The end offset of the registrations' dead-letter topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=live.endpoints.kafka_bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(topics.CLIENTS_REGISTERED.dlq, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def dead_letters(live: Live, start: int) -> list[Any]:
    """This test's records on the registrations' dead-letter topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=live.endpoints.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topics.CLIENTS_REGISTERED.dlq, 0)
        consumer.assign([tp])
        consumer.seek(tp, start)
        found = []
        for _ in range(10):
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [r for r in records if live.suffix.encode() in (r.value or b"")]
        return found
    finally:
        await consumer.stop()


async def setup_roster(live: Live, *names: str, capacity: int = 1000) -> None:
    events = [live.manager(name, live.grade, capacity=capacity) for name in names]
    for event in events:
        await live.send(topics.MANAGERS_CHANGED, event, key=event.manager_id)


def owners(live: Live) -> dict[str, str]:
    """Client -> manager of the initial assignments seen, one per client id."""
    return {e["client_id"]: e["manager_id"] for e in live.mine(topics.CLIENTS_ASSIGNED, reason="initial")}


async def test_one_batch_with_a_duplicate_and_a_poison_record_assigns_each_client_once_fairly(live: Live) -> None:
    names = [f"c{n:02}" for n in range(12)]
    dlq_start = await dlq_end(live)
    async with live.app():
        await setup_roster(live, "a", "b", "c")

        async def roster_known() -> bool:
            return await live.db["managers"].count_documents({}) == 3
        await wait_for(roster_known)
        events = [live.registered(name, AS_OF, "nobody") for name in names]
        batch = [e.model_dump_json().encode() for e in events]
        batch.insert(5, batch[0])  # the same event id again
        batch.insert(8, b"{not json " + live.suffix.encode())
        for body in batch:  # sent together, so one poll hands them over as one batch
            await live.producer.send(topics.CLIENTS_REGISTERED.name, body, key=live.suffix.encode())
        await live.producer.flush()

        async def all_assigned() -> bool:
            return len(owners(live)) == len(names)
        await wait_for(all_assigned)

        async def dead_lettered() -> bool:
            return bool(await dead_letters(live, dlq_start))
        await wait_for(dead_lettered)
    assert len(await dead_letters(live, dlq_start)) == 1
    per_client = Counter(e["client_id"] for e in {e["event_id"]: e for e in live.mine(topics.CLIENTS_ASSIGNED)}.values())
    assert per_client == {live.id(n): 1 for n in names}, "one assignment event id per client"
    assert Counter(owners(live).values()) == {live.id("a"): 4, live.id("b"): 4, live.id("c"): 4}
    assert await live.db["assignments"].count_documents({}) == len(names)
    loads = {s.manager_id: s.load for s in await RotationRepository(live.db).standings()}
    assert loads == {live.id("a"): 4, live.id("b"): 4, live.id("c"): 4}, "no effect counted twice"


async def test_clients_consumed_before_the_roster_are_assigned_within_seconds_without_a_sweep(live: Live) -> None:
    names = [f"c{n:02}" for n in range(10)]
    async with live.app():
        for name in names:
            event = live.registered(name, AS_OF, "nobody")
            await live.send(topics.CLIENTS_REGISTERED, event, key=event.client_id)

        async def all_waiting() -> bool:  # the deferrals are published after the documents are written
            waiting = await live.db["clients"].count_documents({"status": "unassigned"})
            return waiting == len(names) and len(live.mine(topics.ROTATIONS_DEFERRED)) >= len(names)
        await wait_for(all_waiting)
        assert {e["reason"] for e in live.mine(topics.ROTATIONS_DEFERRED)} == {"no_active_manager"}
        started = time.monotonic()
        await setup_roster(live, "a", "b", capacity=5)  # whoever comes first takes no more than their room

        async def all_assigned() -> bool:
            return len(owners(live)) == len(names)
        await wait_for(all_assigned, timeout=60)
        elapsed = time.monotonic() - started
    assert elapsed < 30, f"assigned {elapsed:.1f} s after the roster arrived"
    assert await live.db["clients"].count_documents({"status": "unassigned"}) == 0
    assert Counter(owners(live).values()) == {live.id("a"): 5, live.id("b"): 5}
    assert await live.db["assignments"].count_documents({}) == len(names)


async def test_clients_and_roster_published_together_leave_nobody_waiting_for_the_sweep(live: Live) -> None:
    names = [f"c{n:02}" for n in range(20)]
    for name in names:
        event = live.registered(name, AS_OF, "nobody")
        await live.send(topics.CLIENTS_REGISTERED, event, key=event.client_id)
    await setup_roster(live, "a", "b", capacity=10)
    async with live.app():  # both topics are consumed concurrently, in no particular order

        async def all_assigned() -> bool:
            return len(owners(live)) == len(names)
        await wait_for(all_assigned, timeout=120)
    assert await live.db["clients"].count_documents({"status": "unassigned"}) == 0
    assert Counter(owners(live).values()) == {live.id("a"): 10, live.id("b"): 10}
