"""Retention limits on the real server: intake's quarantine and notify's delivery log, purged by date in bulk."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clientbase.events.envelope import utc_now
from clientbase.logging import configure_logging
from clientbase.periodic import Periodic
from clientbase.retention import RETENTION_RUNS

import intake.cli
import notify.cli

pytestmark = pytest.mark.integration


async def seed(mongo_url: str, database: str, collection: str, docs: list[dict[str, Any]]) -> None:
    """Insert documents into a fresh test database."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        await client[database][collection].insert_many(docs)
    finally:
        await client.close()


async def left_and_runs(mongo_url: str, database: str, collection: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The ids still in the collection and the recorded retention runs; then drop the database."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        left = sorted(d["_id"] for d in await client[database][collection].find({}, {"_id": 1}).to_list())
        runs = await client[database][RETENTION_RUNS].find({}, {"_id": 0}).to_list()
        return left, runs
    finally:
        await client.drop_database(database)
        await client.close()


def test_intake_purge_deletes_quarantine_past_its_days_and_records_the_count(
        stack_endpoints: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    database, now = f"test_retention_intake_{uuid.uuid4().hex[:8]}", utc_now()
    docs = [{"_id": f"q-{age}", "topic": "leads.form-submitted", "raw": b'{"phone": "+79160000000"}',
             "status": status, "quarantined_at": now - timedelta(days=age)}
            for age, status in ((5, "quarantined"), (29, "released"), (31, "quarantined"), (400, "released"))]
    asyncio.run(seed(stack_endpoints.mongo_url, database, "quarantine", docs))
    for name, value in {"INTAKE_DATABASE": database, "INTAKE_QUARANTINE_RETENTION_DAYS": "30",
                        "MONGO_URL": stack_endpoints.mongo_url}.items():
        monkeypatch.setenv(name, value)
    assert intake.cli.main(["purge"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"quarantine": 2}
    left, runs = asyncio.run(left_and_runs(stack_endpoints.mongo_url, database, "quarantine"))
    assert left == ["q-29", "q-5"]
    assert [(r["service"], r["removed"], r["limits"][0]["days"]) for r in runs] == [("intake", {"quarantine": 2}, 30)]
    assert "+7916" not in json.dumps(runs, default=str)


def test_notify_purge_deletes_only_finished_requests_past_their_days(
        stack_endpoints: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    database, now = f"test_retention_notify_{uuid.uuid4().hex[:8]}", utc_now()
    docs = [{"_id": f"r-{age}-{status}", "status": status, "fixed_address": "someone@example.org",
             "first_seen": now - timedelta(days=age)}
            for age, status in ((10, "done"), (364, "done"), (366, "done"), (700, "done"), (700, "parked"))]
    asyncio.run(seed(stack_endpoints.mongo_url, database, "requests", docs))
    for name, value in {"NOTIFY_DATABASE": database, "MONGO_URL": stack_endpoints.mongo_url}.items():
        monkeypatch.setenv(name, value)
    assert notify.cli.main(["purge"]) == 0  # the default limit: 365 days
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"requests": 2, "send_claims": 0}
    left, runs = asyncio.run(left_and_runs(stack_endpoints.mongo_url, database, "requests"))
    assert left == ["r-10-done", "r-364-done", "r-700-parked"]
    assert [(r["service"], r["removed"]) for r in runs] == [("notify", {"requests": 2, "send_claims": 0})]


async def test_a_periodic_job_runs_at_start_and_survives_a_failing_run() -> None:
    configure_logging("test")  # a CLI test before may have left logging on a closed capture stream
    runs: list[int] = []

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("first run fails")

    periodic = Periodic("test-job", job, interval_s=0.05)
    periodic.start()
    for _ in range(100):
        if len(runs) >= 3:
            break
        await asyncio.sleep(0.02)
    await periodic.stop()
    assert runs[:3] == [0, 1, 2]
