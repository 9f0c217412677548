"""A batch of sends claimed in one guarded write: a request another replica claimed is never sent twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.events.envelope import utc_now
from clientbase.mongo_reads import KeyedReads

from notify.delivery import Deliverer, DeliveryConfig
from notify.mailer import Mailer
from notify.providers import SmsGateway
from notify.repository import REQUESTS, NotifyRepository
from notify.templates import Templates

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


class CountingMailer(Mailer):
    """A mailer that accepts every message and keeps who it was for, without an SMTP server."""

    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=1, sender="ClientBase <no-reply@clientbase.example>")
        self.sent: list[str] = []

    async def send(self, message: EmailMessage) -> str:
        await asyncio.sleep(0.01)
        self.sent.append(str(message["To"]))
        return self.name


@pytest.fixture
def db(scratch_db: AsyncDatabase[dict[str, Any]]) -> AsyncDatabase[dict[str, Any]]:
    """A scratch database on the stack's server, dropped afterwards."""
    return scratch_db


def deliverer(db: AsyncDatabase[dict[str, Any]], strategy: str, mailer: Mailer) -> Deliverer:
    config = DeliveryConfig(public_url="http://127.0.0.1:8003", token_secret=b"k", token_ttl_s=3600,
                            message_id_domain="clientbase.example", send_concurrency=4)
    return Deliverer(NotifyRepository(db, KeyedReads(strategy)), Templates(), mailer,  # type: ignore[arg-type]
                     SmsGateway([], {}, sender="ClientBase", timeout_s=1.0), config, utc_now)


async def queued(db: AsyncDatabase[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Store `count` queued email requests, as the pipeline leaves them before the sends."""
    docs = [{"_id": f"r-{n}", "correlation_id": "c", "channel": "email", "category": "service",
             "template": "order_status", "params": {}, "client_id": f"cl-{n}", "status": "queued",
             "due_at": utc_now() + timedelta(minutes=5), "target": f"to{n}@mail.example",
             "message": {"subject": "s", "body": "b", "locale": "en"}} for n in range(count)]
    await db[REQUESTS].insert_many(docs)
    return docs


@pytest.mark.parametrize("strategy", ["in", "point"])
async def test_requests_another_replica_claimed_are_skipped(db: AsyncDatabase[dict[str, Any]], strategy: str) -> None:
    docs = await queued(db, 40)
    taken = {"r-5", "r-20", "r-33"}  # claimed by another replica after this batch read them
    await db[REQUESTS].update_many({"_id": {"$in": sorted(taken)}}, {"$set": {"status": "sending"}})
    mailer = CountingMailer()
    finished = await deliverer(db, strategy, mailer).deliver_all(docs)
    assert sorted(d["_id"] for d, _ in finished) == sorted(d["_id"] for d in docs if d["_id"] not in taken)
    assert sorted(mailer.sent) == sorted(d["target"] for d in docs if d["_id"] not in taken)
    stored = {d["_id"]: d for d in await db[REQUESTS].find({}).to_list()}
    assert all(stored[i]["status"] == "sending" for i in taken)
    assert all(d["status"] == "done" and d["outcome"] == {"status": "sent", "reason": None, "provider": "smtp"}
               and d["provider"] == "smtp" for i, d in stored.items() if i not in taken)


@pytest.mark.parametrize("strategy", ["in", "point"])
async def test_two_replicas_sending_the_same_batch_send_each_email_once(db: AsyncDatabase[dict[str, Any]],
                                                                        strategy: str) -> None:
    docs = await queued(db, 48)
    first, second = CountingMailer(), CountingMailer()
    results = await asyncio.gather(deliverer(db, strategy, first).deliver_all(docs),
                                   deliverer(db, strategy, second).deliver_all(docs))
    assert sorted(first.sent + second.sent) == sorted(d["target"] for d in docs), "each email once, none lost"
    assert sorted(d["_id"] for result in results for d, _ in result) == sorted(d["_id"] for d in docs)
    assert await db[REQUESTS].count_documents({"status": "done"}) == len(docs)
