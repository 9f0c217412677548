"""Helpers for intake's integration tests: samples, a recording publisher and services on throwaway databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.events.envelope import Envelope
from clientbase.mongo import ensure_indexes
from clientbase.topics import Topic

from intake.domain import IntakePolicy
from intake.records import fold
from intake.repository import INDEXES, IntakeRepository
from intake.service import IntakeService

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "samples"


def sample(name: str) -> list[bytes]:
    """Raw lines of one sample file, as a producer would send them."""
    return [line.encode() for line in (SAMPLES / name).read_text().splitlines() if line.strip()]


class RecordingPublisher:
    """Publisher double that remembers what was published, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Envelope, str]] = []

    async def publish(self, topic: Topic, event: Envelope, *, key: str) -> None:
        """Remember one event."""
        self.sent.append((topic.name, event, key))

    async def publish_all(self, items: Iterable[tuple[Topic, Envelope, str]]) -> None:
        """Remember several events in order."""
        for topic, event, key in items:
            await self.publish(topic, event, key=key)

    def on(self, topic: Topic) -> list[Envelope]:
        """Events published to one topic."""
        return [event for name, event, _ in self.sent if name == topic.name]


async def fresh_db(mongo_url: str) -> tuple[AsyncMongoClient[dict[str, Any]], AsyncDatabase[dict[str, Any]]]:
    """A client and a new uniquely named database with intake's indexes."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = client[f"test_intake_{uuid.uuid4().hex[:10]}"]
    await ensure_indexes(db, INDEXES)
    return client, db


def make_service(db: AsyncDatabase[dict[str, Any]], publisher: RecordingPublisher | None = None,
                 **policy: Any) -> IntakeService:
    """An intake service on a test database."""
    return IntakeService(IntakeRepository(db), publisher or RecordingPublisher(), IntakePolicy(**policy))


async def live_clients(db: AsyncDatabase[dict[str, Any]]) -> list[dict[str, Any]]:
    """Folded records of the registered clients that were not merged away."""
    repo = IntakeRepository(db)
    merged = {m["_id"] async for m in db["merges"].find({})}
    registered = sorted([r["_id"] async for r in db["registrations"].find({})])
    return [fold(c, await repo.fragments(c)) for c in registered if c not in merged]
