"""Two intake OS processes (`faststream run`) in one consumer group receive one person concurrently: one client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.kafka.stores import handled_events
from clientbase.stack.ports import free_ports

from intake_kafka import consume_all, create_intake_topics, new_prefix, produce
from clientbase.testing.kafka_io import wait_for
from intake_support import live_clients

pytestmark = pytest.mark.integration


def ready(port: int) -> bool:
    """Whether an intake process answers /ready with 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def lead(body: dict[str, Any]) -> bytes:
    return json.dumps({"event_id": str(uuid.uuid4()), **body}).encode()


async def test_two_intake_processes_in_one_group_make_one_client(stack_endpoints: Any, tmp_path: Path) -> None:
    prefix = new_prefix()
    await create_intake_topics(stack_endpoints.kafka_bootstrap, prefix)
    database, group = f"test_intake_proc_{prefix.strip('.')}", f"test-intake-proc-{prefix.strip('.')}"
    env = {**os.environ, "INTAKE_DATABASE": database, "INTAKE_GROUP_ID": group, "INTAKE_TOPIC_PREFIX": prefix,
           "KAFKA_BOOTSTRAP_SERVERS": stack_endpoints.kafka_bootstrap, "MONGO_URL": stack_endpoints.mongo_url,
           "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json"}
    processes = []
    for index, port in enumerate(free_ports(2)):
        log_file = (tmp_path / f"intake-{index}.log").open("wb")
        processes.append((port, subprocess.Popen(
            [sys.executable, "-m", "faststream", "run", "intake.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port)], env=env, stdout=log_file, stderr=subprocess.STDOUT)))
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
    db = mongo[database]
    try:
        async def both_ready() -> bool:
            return all([await asyncio.to_thread(ready, port) for port, _ in processes])

        await wait_for(both_ready, timeout_s=120.0)
        forms = [lead({"occurred_at": "2026-11-20T10:00:00+03:00", "form_id": "contact", "locale": "ru-RU",
                       "fields": fields}) for _ in range(10) for fields in (
            {"name": "Два Процесса", "phone": "8 (916) 700-00-03", "email": "two.proc@mail.ru"},
            {"phone": "+79167000003"}, {"email": "Two.Proc@mail.ru"})]
        calls = [lead({"occurred_at": "2026-11-20T09:00:00+03:00", "call_id": f"c-{n}", "direction": "inbound",
                       "caller": "89167000003", "callee": "+74951332043", "status": "missed",
                       "default_region": "RU"}) for n in range(20)]
        await asyncio.gather(
            produce(stack_endpoints.kafka_bootstrap, prefix + topics.LEADS_FORM_SUBMITTED.name, forms),
            produce(stack_endpoints.kafka_bootstrap, prefix + topics.LEADS_CALL_RECEIVED.name, calls))

        async def all_handled() -> bool:
            return await handled_events(db) >= len(forms) + len(calls)

        await wait_for(all_handled, timeout_s=120.0)
        assert all(process.poll() is None for _, process in processes), "both processes kept running"
        clients = await live_clients(db)
        assert len(clients) == 1
        registered = {json.loads(r)["client_id"] for r in await consume_all(
            stack_endpoints.kafka_bootstrap, prefix + topics.CLIENTS_REGISTERED.name)}
        merged = {json.loads(r)["merged_client_id"] for r in await consume_all(
            stack_endpoints.kafka_bootstrap, prefix + topics.CLIENTS_MERGED.name)}
        assert registered - merged == {clients[0]["_id"]}
    finally:
        for _, process in processes:
            process.terminate()
        for _, process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        await mongo.drop_database(database)
        await mongo.close()
