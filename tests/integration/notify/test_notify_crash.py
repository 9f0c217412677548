"""Notify killed with SIGKILL between the provider call and the outcome write: at most once, one final outcome."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.stack.ports import free_ports
from clientbase.testing.kafka_io import wait_for

from notify_kit import (
    TOKEN_SECRET, Mailpit, Outcomes, Producer, client_registered, create_notify_topics, new_prefix, request,
    unique_email, unique_phone,
)

pytestmark = pytest.mark.integration


def answers(url: str) -> bool:
    """Whether an HTTP endpoint answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class NotifyProcess:
    """One `faststream run` notify process with a given crash window."""

    def __init__(self, env: dict[str, str], log: Path, crash_window_s: float) -> None:
        self.port = free_ports(1)[0]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "faststream", "run", "notify.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port)], env={**env, "NOTIFY_CRASH_WINDOW_S": str(crash_window_s)},
            stdout=log.open("ab"), stderr=subprocess.STDOUT)

    async def ready(self) -> None:
        async def up() -> bool:
            return await asyncio.to_thread(answers, f"http://127.0.0.1:{self.port}/ready")

        await wait_for(up, timeout_s=120)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def test_a_crash_after_the_provider_accepted_delivers_at_most_once(stack_endpoints: Any, mail_endpoints: Any,
                                                                          tmp_path: Path) -> None:
    prefix = new_prefix()
    await create_notify_topics(stack_endpoints.kafka_bootstrap, prefix)
    sink_port = free_ports(1)[0]
    sink = subprocess.Popen([sys.executable, "-m", "notify.cli", "sms-sink", "--port", str(sink_port)],
                            stdout=(tmp_path / "sink.log").open("wb"), stderr=subprocess.STDOUT)
    suffix = prefix.strip(".")
    env = {**os.environ, "NOTIFY_DATABASE": f"test_notify_crash_{suffix}", "NOTIFY_GROUP_ID": f"crash-{suffix}",
           "NOTIFY_TOPIC_PREFIX": prefix, "KAFKA_BOOTSTRAP_SERVERS": stack_endpoints.kafka_bootstrap,
           "MONGO_URL": stack_endpoints.mongo_url, "NOTIFY_SMTP_HOST": mail_endpoints.smtp_host,
           "NOTIFY_SMTP_PORT": str(mail_endpoints.smtp_port), "NOTIFY_TOKEN_SECRET": TOKEN_SECRET,
           "NOTIFY_TWILIO_URL": f"http://127.0.0.1:{sink_port}", "NOTIFY_QUIET_START": "00:00",
           "NOTIFY_QUIET_END": "00:00", "NOTIFY_RECIPIENT_RETRY_S": "0.5", "NOTIFY_SCHEDULER_INTERVAL_S": "0.5",
           "LOG_LEVEL": "INFO", "LOG_FORMAT": "json", "CONSUMER_BATCH_TIMEOUT_MS": "50",
           "CONSUMER_SESSION_TIMEOUT_MS": "6000", "CONSUMER_HEARTBEAT_INTERVAL_MS": "1000"}
    log = tmp_path / "notify.log"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True)
    db = mongo[env["NOTIFY_DATABASE"]]
    outcomes = Outcomes(stack_endpoints.kafka_bootstrap, prefix)
    produce, mail = Producer(stack_endpoints.kafka_bootstrap, prefix), Mailpit(mail_endpoints.mailpit_url)
    processes: list[NotifyProcess] = []
    client, phone, email = "cl-crash-" + suffix, unique_phone(), unique_email("crash")
    email_request = request(client, category="service", template="order_status",
                            params={"order_id": "C-1", "status": "ok"})
    sms_request = request(client, channel="sms", category="service", template="order_status",
                          params={"order_id": "C-2", "status": "ok"})
    try:
        await outcomes.start()
        await produce.send(topics.CLIENTS_REGISTERED, [client_registered(client, phones=[(phone, "mobile")],
                                                                         emails=[email])], key=client)
        first = NotifyProcess(env, log, crash_window_s=60)
        processes.append(first)
        await first.ready()
        await produce.send(topics.NOTIFICATIONS_REQUESTED, [email_request], key=client)
        await mail.wait_for_messages(email, 1, timeout_s=60)
        first.kill()  # SMTP accepted it; the outcome was not written
        assert (await db["requests"].find_one({"_id": email_request["event_id"]}))["status"] == "sending"

        second = NotifyProcess(env, log, crash_window_s=60)
        processes.append(second)
        await second.ready()
        email_outcome = await outcomes.final(email_request["event_id"])
        assert (email_outcome["status"], email_outcome["reason"]) == ("sent", "unconfirmed")
        await produce.send(topics.NOTIFICATIONS_REQUESTED, [sms_request], key=client)

        async def sms_accepted() -> bool:
            async with httpx.AsyncClient() as http:
                return bool((await http.get(f"http://127.0.0.1:{sink_port}/messages")).json()["messages"])

        await wait_for(sms_accepted, timeout_s=60)
        second.kill()  # the provider accepted the SMS; the outcome was not written
        assert (await db["requests"].find_one({"_id": sms_request["event_id"]}))["status"] == "sending"

        third = NotifyProcess(env, log, crash_window_s=0)
        processes.append(third)
        await third.ready()
        sms_outcome = await outcomes.final(sms_request["event_id"])
        assert (sms_outcome["status"], sms_outcome["reason"], sms_outcome["provider"]) == ("sent", None, "twilio")
        async with httpx.AsyncClient() as http:
            received = (await http.get(f"http://127.0.0.1:{sink_port}/messages")).json()
        assert received["calls"] == 2, "the SMS was submitted again after the crash, with the same key"
        assert len(received["messages"]) == 1, "exactly once: the provider kept one message"
        await asyncio.sleep(2)
        assert len(await mail.messages_to(email)) == 1, "email is at most once: never sent again"
        for request_id in (email_request["event_id"], sms_request["event_id"]):
            finals = {o["event_id"] for o in await outcomes.of(request_id) if o["status"] != "deferred"}
            assert len(finals) == 1
    finally:
        for process in processes:
            process.stop()
        sink.terminate()
        sink.wait(timeout=30)
        await outcomes.stop()
        await mongo.drop_database(env["NOTIFY_DATABASE"])
        await mongo.close()
        print(json.dumps({"log": str(log)}))
