"""MongoDB commands per batch of email requests, counted with PyMongo command monitoring: a count, not a timing."""

from __future__ import annotations

import math
import uuid
from datetime import time
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clientbase.events.envelope import utc_now
from clientbase.mongo import ensure_indexes
from clientbase.mongo_reads import KeyedReads
from clientbase.mongo_writes import FERRETDB_UPDATE_CHUNK
from clientbase.testing.round_trips import Commands, Sink

from notify.delivery import Deliverer, DeliveryConfig
from notify.domain import Policy, Request
from notify.mailer import Mailer
from notify.pipeline import Pipeline
from notify.providers import SmsGateway
from notify.repository import CLIENTS, INDEXES, NotifyRepository
from notify.templates import Templates

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

POINT_LOOKUP_KINDS = 4  # stored requests, clients, consent ledger and suppressions: one lookup each per request


async def commands_for(mongo_url: str, mail: Any, size: int, strategy: str) -> tuple[int, int, int]:
    """Submit `size` service emails to known clients as one batch; (reads, writes, sent)."""
    listener = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True, event_listeners=[listener])
    db = client[f"test_notify_rt_{uuid.uuid4().hex[:8]}"]
    try:
        await ensure_indexes(db, INDEXES)
        await db[CLIENTS].insert_many([{"_id": f"cl-{n}", "snapshot": True, "name": f"Client {n}", "locale": "en",
                                        "emails": [f"rt.{db.name}.{n}@mail.example"], "phones": []}
                                       for n in range(size)])
        repo = NotifyRepository(db, KeyedReads(strategy))  # type: ignore[arg-type]
        mailer = Mailer(host=mail.smtp_host, port=mail.smtp_port, sender="ClientBase <no-reply@clientbase.example>")
        config = DeliveryConfig(public_url="http://127.0.0.1:8003", token_secret=b"k", token_ttl_s=3600,
                                message_id_domain="clientbase.example", backoff_s=0.05)
        sms = SmsGateway([], {}, sender="ClientBase", timeout_s=1.0)
        sink = Sink()
        pipeline = Pipeline(repo, sink, Deliverer(repo, Templates(), mailer, sms, config, utc_now),
                            Policy(quiet_start=time(0, 0), quiet_end=time(0, 0)), clock=utc_now)
        now = utc_now()
        requests = [Request(request_id=str(uuid.uuid4()), correlation_id="rt", channel="email", category="service",
                            template="order_status", params={"order_id": f"RT-{n}", "status": "ok"},
                            client_id=f"cl-{n}", first_seen=now) for n in range(size)]
        listener.names.clear()
        await pipeline.submit(requests)
        reads_n, writes_n = listener.split()
        return reads_n, writes_n, sum(1 for e in sink.events if e.status == "sent")
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.mark.parametrize("strategy", ["in", "point"])
async def test_commands_per_batch_of_emails_do_not_grow_with_the_batch(stack_endpoints: Any, mail_endpoints: Any,
                                                                       strategy: str) -> None:
    small = await commands_for(stack_endpoints.mongo_url, mail_endpoints, 25, strategy)
    large = await commands_for(stack_endpoints.mongo_url, mail_endpoints, 100, strategy)
    print(f"strategy={strategy}: 25 emails -> reads={small[0]} writes={small[1]}; "
          f"100 emails -> reads={large[0]} writes={large[1]} ({sum(large[:2]) / 100:.2f} commands per email)")
    assert (small[2], large[2]) == (25, 100), "every email sent"
    if strategy == "in":  # MongoDB's way: one command per lookup kind and per write, whatever the batch size
        assert small[:2] == large[:2]
        assert large[1] <= 4, "the requests inserted, moved to sending, their sends claimed, finished: one command each"
        assert large[0] <= 4, "stored requests, clients, consent ledger and suppressions, read once per batch"
    else:  # FerretDB v1's way: point lookups, and guarded updates in small commands (see clientbase.mongo_writes)
        split = math.ceil(100 / FERRETDB_UPDATE_CHUNK) - math.ceil(25 / FERRETDB_UPDATE_CHUNK)
        assert large[0] - small[0] == POINT_LOOKUP_KINDS * 75, "point lookups per request and nothing else"
        assert large[1] - small[1] <= 2 * split, f"only the claims and results split, {FERRETDB_UPDATE_CHUNK} a command"
