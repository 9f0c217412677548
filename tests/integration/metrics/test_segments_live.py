"""Segments on the real broker and database: generated clients end where the documented rules put them, a change
publishes one event, a redelivery none, and time alone moves clients on the daily pass."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from clientbase import topics
from clientbase.events.envelope import utc_now
from clientbase.events.outbound import ClientUpdated, LeadSource
from history_gen import Produced
from metrics_kit import MetricsLive, metrics_live
from segments_reference import generate_clients, reference_segments

pytestmark = pytest.mark.integration

LATER = timedelta(days=200)


async def segmented(live: MetricsLive) -> list[dict[str, Any]]:
    """Every `clients.segmented` event published so far (in order per client: one client, one partition)."""
    topic = live.prefix + topics.CLIENTS_SEGMENTED.name
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=live.settings.kafka.bootstrap_servers,
                                auto_offset_reset="earliest", group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.assignment()
        while not partitions:
            await asyncio.sleep(0.1)
            partitions = consumer.assignment()
        ends = await consumer.end_offsets(list(partitions))
        out: list[dict[str, Any]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=500)
            out += [json.loads(r.value) for records in batch.values() for r in records]
        return out
    finally:
        await consumer.stop()


async def segments_pass(live: MetricsLive, as_of: datetime) -> dict[str, Any]:
    """Run `clientbase-metrics segments-pass --as-of` against the test's database and topics."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": live.settings.kafka.bootstrap_servers,
           "MONGO_URL": live.settings.mongo.url.get_secret_value(), "METRICS_DATABASE": live.settings.database,
           "METRICS_TOPIC_PREFIX": live.prefix, "LOG_LEVEL": "WARNING"}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "metrics.cli", "segments-pass", "--as-of",
                                                    as_of.isoformat()], env=env, capture_output=True, text=True,
                                   timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


async def stored(live: MetricsLive) -> dict[str, dict[str, Any]]:
    """Each surviving client's stored segment."""
    return {d["_id"]: d["segment"] for d in await live.db["segments"].find({"merged_into": None}).to_list()}


def counts(segments: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Segment counts the way the read API reports them."""
    values = list(segments.values())
    return {"clients": len(values), "vip": sum(s["vip"] for s in values),
            "temperature": {t: sum(s["temperature"] == t for s in values) for t in ("cold", "warm", "hot")},
            "activity": {str(a).lower() if a is None else a: sum(s["activity"] == a for s in values)
                         for a in ("active", "passive", "lost", None)},
            "kind": {k: sum(s["kind"] == k for s in values) for k in ("person", "company")}}


def renamed(events: list[Produced]) -> list[Produced]:
    """The same events again under fresh event ids, as a producer retrying without its ids would send them."""
    out = []
    for e in events:
        body = json.loads(e.body)
        body["event_id"] = str(uuid.uuid4())
        out.append(Produced(e.topic, e.key, json.dumps(body).encode(), body["event_id"]))
    return out


async def test_segments_follow_the_rules_publish_changes_once_and_age_with_time(stack_endpoints: Any) -> None:
    now = utc_now()
    async with metrics_live(stack_endpoints) as live:
        events, people = generate_clients(seed=11, tag=live.prefix.strip("."), now=now)
        expected = reference_segments(people, now)
        assert {s["temperature"] for s in expected.values()} == {"cold", "warm", "hot"}
        assert any(s["vip"] for s in expected.values()) and not all(s["vip"] for s in expected.values())
        async with live.running():
            await live.produce(events)
            await live.caught_up()
            await segments_pass(live, now)  # the company's average order is final only once every sale is in
            assert await stored(live) == expected
            published = await segmented(live)
            last: dict[str, dict[str, Any]] = {}
            for event in published:
                assert event["segment"] != event["previous"] and event["rule_version"] == "segments-2026.1"
                assert event["previous"] == last.get(event["client_id"])
                last[event["client_id"]] = event["segment"]
            survivors = {cid: seg for cid, seg in last.items() if cid in expected}
            assert survivors == expected

            await live.produce(events[:60])  # redelivered as they were
            await live.produce(renamed(events))  # and every fact once more under new event ids
            await live.caught_up()
            assert len(await segmented(live)) == len(published)

            cold = next(cid for cid, s in expected.items() if s["temperature"] == "cold" and people[cid].hot_at is None)
            people[cold].hot_at = utc_now()
            call = ClientUpdated.create(source="test", correlation_id="callback", occurred_at=people[cold].hot_at,
                                        client_id=cold, kind=people[cold].kind, lead_source=LeadSource(channel="call"),
                                        lead_event_id="callback", hot=True)
            await live.produce([Produced(topics.CLIENTS_UPDATED, cold, call.model_dump_json().encode(), call.event_id)])
            await live.caught_up()
            now_expected = reference_segments(people, utc_now())
            assert now_expected[cold]["temperature"] == "hot"
            after_call = await segmented(live)
            seen = {e["event_id"] for e in published}
            assert [e["client_id"] for e in after_call if e["event_id"] not in seen] == [cold]
            assert await stored(live) == now_expected

            later = now + LATER
            report = await segments_pass(live, later)
            later_expected = reference_segments(people, later)
            moved = sum(now_expected[c] != later_expected[c] for c in later_expected)
            assert report["changed"] == moved > 0
            assert await stored(live) == later_expected
            assert len(await segmented(live)) == len(after_call) + moved

            month, later_month = now.strftime("%Y-%m-01"), later.strftime("%Y-%m-01")
            before = (datetime.fromisoformat(later_month) + timedelta(days=32)).strftime("%Y-%m-01")
            response = await live.get("/metrics/segments", period="month", **{"from": month, "to": before})
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            keys = ("clients", "vip", "temperature", "activity", "kind")
            assert {k: items[0][k] for k in keys} == counts(now_expected)
            assert {k: items[-1][k] for k in keys} == counts(later_expected)
            assert Counter(s["temperature"] for s in later_expected.values())["hot"] == 0
