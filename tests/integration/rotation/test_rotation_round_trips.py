"""MongoDB commands per batch of client registrations, counted with PyMongo command monitoring: a count, not a timing."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.kafka.dead_letter import DeadLetterer
from clientbase.kafka.reliability import ConsumerReliability
from clientbase.kafka.stores import CONSUMER_INDEXES
from clientbase.mongo import ensure_indexes
from clientbase.mongo_reads import KeyedReads
from clientbase.mongo_writes import FERRETDB_UPDATE_CHUNK
from clientbase.settings import ReliabilitySettings
from clientbase.testing.round_trips import Commands, Sink

from rotation.batch import RotationBatches
from rotation.domain import Rules
from rotation.repository import INDEXES, RotationRepository
from rotation.service import RotationService

from rotation_records import records, registrations, roster_events

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


async def commands_for(mongo_url: str, size: int, strategy: str) -> tuple[int, int, int]:
    """Register `size` new clients as one polled batch through the reliability kit; (reads, writes, assigned)."""
    listener = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True, event_listeners=[listener])
    db = client[f"test_rotation_rt_{uuid.uuid4().hex[:8]}"]
    try:
        await ensure_indexes(db, (*CONSUMER_INDEXES, *INDEXES))
        reads = KeyedReads(strategy)  # type: ignore[arg-type]
        sink = Sink()
        kit = ConsumerReliability("rt", ReliabilitySettings())
        kit.attach(db, DeadLetterer(sink), reads)  # type: ignore[arg-type]
        batches = RotationBatches(RotationService(RotationRepository(db), sink, Rules()), reads)
        await kit.run(records(topics.MANAGERS_CHANGED, roster_events(5)), batches.roster)
        listener.names.clear()
        await kit.run(records(topics.CLIENTS_REGISTERED, registrations(size)),
                      lambda batch: batches.client_events(topics.CLIENTS_REGISTERED, batch))
        reads_n, writes_n = listener.split()
        assigned = sum(1 for e in sink.events if e.event_type == "ClientAssigned")
        return reads_n, writes_n, assigned
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.mark.parametrize("strategy", ["in", "point"])
async def test_commands_per_batch_do_not_grow_with_the_batch(stack_endpoints: Any, strategy: str) -> None:
    small = await commands_for(stack_endpoints.mongo_url, 50, strategy)
    large = await commands_for(stack_endpoints.mongo_url, 200, strategy)
    print(f"strategy={strategy}: 50 events -> reads={small[0]} writes={small[1]}; "
          f"200 events -> reads={large[0]} writes={large[1]}")
    assert (small[2], large[2]) == (50, 200), "every client assigned"
    if strategy == "in":  # MongoDB's way: every write one command per collection, whatever the batch size
        assert small[1] == large[1] <= 6, "claims, clients, history, counters, done marks: one command each"
        assert large[0] <= 6, "clients and the roster, read once per batch"
    else:  # FerretDB v1's way: point lookups, and guarded updates in small commands (see clientbase.mongo_writes)
        split = math.ceil(200 / FERRETDB_UPDATE_CHUNK) - math.ceil(50 / FERRETDB_UPDATE_CHUNK)
        assert large[0] - small[0] == 150, "one point lookup per client and nothing else per event"
        assert large[1] - small[1] <= 2 * split, f"only client and counter updates split, {FERRETDB_UPDATE_CHUNK} a command"
        assert large[1] / 200 < small[1] / 50, "write commands per event shrink as the batch grows"
