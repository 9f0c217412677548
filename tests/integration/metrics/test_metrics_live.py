"""The metrics service on the real broker and database agrees with an independent reference, under redelivery,
late events, merges and a rebuild."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import date
from typing import Any

import pytest

from clientbase.testing.kafka_io import read_records
from history_gen import generate
from metrics.reader import HistoryReader
from metrics.rebuild import Rebuilder
from metrics.repository import MetricsRepository, collection_name
from metrics.rollups import Refresher
from metrics_kit import TOKEN, ZONE, MetricsLive, metrics_live
from reference import Reference

pytestmark = pytest.mark.integration

FIRST, BEFORE = date(2022, 12, 1), date(2027, 1, 1)


def months(first: date, before: date, step: int) -> list[tuple[date, date]]:
    """Consecutive ranges of `step` months."""
    ranges, start = [], first
    while start < before:
        month0 = start.month - 1 + step
        end = date(start.year + month0 // 12, month0 % 12 + 1, 1)
        ranges.append((start, end))
        start = end
    return ranges


def assert_same(actual: Any, expected: Any, where: str) -> None:
    """Equal, floats within the last rounded digit."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), f"{where}: {actual} != {expected}"
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual} != {expected}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float) and isinstance(actual, (int, float)):
        assert abs(actual - expected) <= 0.011, f"{where}: {actual} != {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


async def rollups(live: MetricsLive, repo: MetricsRepository, generation: int, name: str) -> dict[str, Any]:
    """The current version of a generation's rollup documents, by key, as dashboards read them."""
    version = await repo.rollup_version(generation)
    docs = await live.db[collection_name(generation, name)].find({"version": version}).to_list(None)
    return {doc["key"]: {k: v for k, v in doc.items() if k not in ("_id", "version")} for doc in docs}


async def figures(live: MetricsLive) -> dict[str, Any]:
    """Every figure the API serves over the test's span: retention per kind, managers and sources per month/year."""
    result: dict[str, Any] = {}
    for kind in ("week", "month", "quarter", "year"):
        response = await live.get("/metrics/retention", period=kind, **{"from": FIRST.isoformat(), "to": BEFORE.isoformat()})
        assert response.status_code == 200, response.text
        result[kind] = response.json()["items"]
    for step in (1, 12):
        for first, before in months(date(2023, 1, 1), date(2026, 7, 1), step):
            for what in ("managers", "sources"):
                response = await live.get(f"/metrics/{what}", **{"from": first.isoformat(), "to": before.isoformat()})
                assert response.status_code == 200, response.text
                result[f"{what}:{first}:{before}"] = response.json()["items"]
    return result


def expected_figures(reference: Reference) -> dict[str, Any]:
    """The same figures from the reference."""
    result: dict[str, Any] = {kind: reference.retention(kind, FIRST, BEFORE) for kind in ("week", "month", "quarter", "year")}
    for step in (1, 12):
        for first, before in months(date(2023, 1, 1), date(2026, 7, 1), step):
            result[f"managers:{first}:{before}"] = reference.managers(first, before)
            result[f"sources:{first}:{before}"] = reference.sources(first, before)
    return result


@pytest.mark.timeout(600)
async def test_service_matches_reference_twice_delivered_and_rebuilt(stack_endpoints: Any) -> None:
    async with metrics_live(stack_endpoints) as live:
        events = generate(seed=7, tag=live.prefix.strip("."))
        held_back, first_part = events[-40:], events[:-40]
        async with live.running():
            repo = MetricsRepository(live.db)
            refresher = Refresher(repo, HistoryReader(repo), live.settings.zone(), live.settings.rules(), 0)
            rebuild = Rebuilder(repo, refresher, live.settings.kafka, live.prefix)
            await live.produce(first_part)
            await live.produce(first_part)
            await live.caught_up()
            incremental = await figures(live)
            assert_same(incremental, expected_figures(Reference([(e.topic.name, e.body) for e in first_part], ZONE)),
                        "incremental")
            report = await rebuild.run()
            assert report.switched and report.generation == 2 and report.records == 2 * len(first_part)
            assert_same(await figures(live), incremental, "rebuilt")
            await refresher.refresh(1)
            for name in ("retention", "managers", "sources"):
                old, new = await rollups(live, repo, 1, name), await rollups(live, repo, 2, name)
                assert old, name
                assert_same(new, old, name)
            report, _ = await asyncio.gather(rebuild.run(), live.produce(held_back))
            assert report.switched and report.generation == 3
            await live.produce(events)
            await live.caught_up()
            expected = expected_figures(Reference([(e.topic.name, e.body) for e in events], ZONE))
            assert_same(await figures(live), expected, "served")
            assert await repo.basis(3) == len({e.event_id for e in events})
            await refresher.refresh()
            march = (await rollups(live, repo, 3, "retention"))["month:2025-03-01"]
            assert_same({k: march[k] for k in expected["month"][0]}, next(
                i for i in expected["month"] if i["period_start"].startswith("2025-03-01")), "rollup")


async def test_read_api_refuses_bad_tokens_and_parameters(stack_endpoints: Any) -> None:
    async with metrics_live(stack_endpoints) as live, live.running():
        span = {"from": "2026-01-01", "to": "2026-03-01"}
        assert (await live.get("/metrics/retention", token=None, period="month", **span)).status_code == 401
        assert (await live.get("/metrics/managers", token="wrong", **span)).status_code == 401
        bad = await live.get("/metrics/retention", period="decade", **span)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "period"]
        assert (await live.get("/metrics/sources", **{"from": "2026-03-01", "to": "2026-01-01"})).status_code == 422
        assert (await live.get("/metrics/sources", **{"from": "yesterday", "to": "2026-01-01"})).status_code == 422
        ok = await live.get("/metrics/retention", period="month", **span)
        assert ok.status_code == 200 and [i["period_start"][:10] for i in ok.json()["items"]] == [
            "2026-01-01", "2026-02-01"]
        assert ok.json()["items"][0]["customers_start"] == 0 and ok.json()["items"][0]["crr"] is None
        spec = await live.get("/metrics/openapi.json", token=None)
        assert spec.status_code == 200 and "/metrics/retention" in spec.json()["paths"]
        assert TOKEN not in spec.text


async def test_a_poison_record_goes_to_the_dead_letter_topic_and_the_rest_is_counted(stack_endpoints: Any) -> None:
    async with metrics_live(stack_endpoints) as live, live.running():
        sale = next(e for e in generate(seed=5, tag=live.prefix.strip("."), clients=6, managers=2)
                    if e.topic.name == "sales.attributed" and b'"kind":"order"' in e.body)
        topic = live.prefix + sale.topic.name
        await live.producer.send_and_wait(topic, b"{not json", key=sale.key.encode(), partition=0)
        await live.producer.send_and_wait(topic, sale.body, key=sale.key.encode(), partition=0)
        [dead] = await read_records(stack_endpoints.kafka_bootstrap, topic + ".dlq", 1, timeout_s=120)
        assert dead.value == b"{not json"
        await live.caught_up()
        year = json.loads(sale.body)["occurred_at"][:4]
        response = await live.get("/metrics/retention", period="year", **{"from": f"{year}-01-01",
                                                                          "to": f"{int(year) + 1}-01-01"})
        assert response.json()["items"][0]["orders"] == 1


async def test_rebuild_command_replays_the_topics_into_a_new_generation(stack_endpoints: Any) -> None:
    async with metrics_live(stack_endpoints) as live:
        events = generate(seed=3, tag=live.prefix.strip("."), clients=8, managers=2)
        await live.produce(events)
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": stack_endpoints.kafka_bootstrap,
               "MONGO_URL": stack_endpoints.mongo_url, "METRICS_DATABASE": live.settings.database,
               "METRICS_TOPIC_PREFIX": live.prefix, "LOG_LEVEL": "WARNING"}
        done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "metrics.cli", "rebuild"], env=env,
                                       capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["switched"] and report["generation"] == 2 and report["facts"] == len(events)
        repo = MetricsRepository(live.db)
        assert (await repo.pointer())["active"] == 2
        assert await repo.rollup_version(2) == len(events)
