"""The intake benchmark's data: distinct form leads, some of them returning clients, and the existing client base."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.kafka.reliability import Delivery
from clientbase.mongo import ensure_indexes

from intake.domain import IntakePolicy
from intake.repository import INDEXES, IntakeRepository
from intake.service import IntakeService

INPUTS = (topics.LEADS_FORM_SUBMITTED, topics.LEADS_CALL_RECEIVED, topics.SALES_RECORDED)
OUTPUTS = (topics.CLIENTS_REGISTERED, topics.CLIENTS_UPDATED, topics.CLIENTS_MERGED, topics.LEADS_REJECTED,
           topics.SALES_ATTRIBUTED)
PREFILL_BATCH = 1000


def lead(person: int, minute: int = 0) -> bytes:
    """A form lead of person number `person` (the same person always has the same phone, email and name)."""
    return json.dumps({
        "event_id": str(uuid.uuid4()), "occurred_at": f"2026-11-20T10:{minute % 60:02d}:00+03:00",
        "form_id": "bench", "utm": {"source": "google", "medium": "cpc", "campaign": "bench"},
        "fields": {"name": f"Тест Клиент{person}", "phone": f"8 916 {person // 10000 % 1000:03d} {person % 10000:04d}",
                   "email": f"bench{person}@mail.ru"},
        "consents": [{"channel": "email", "granted": True, "text": "ok", "text_version": "1"}], "locale": "ru-RU",
    }).encode()


def measured_leads(count: int, existing: int, returning_share: float) -> list[bytes]:
    """The measured backlog: mostly new people, every n-th one a returning existing client."""
    every = round(1 / returning_share) if returning_share > 0 and existing else 0
    return [lead(i % existing if every and i % every == 0 else existing + i, minute=1) for i in range(count)]


async def create_topics(bootstrap: str, prefix: str) -> None:
    """Intake's topics under a prefix, with the registry's partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + t.name, t.partitions, 1) for t in (*INPUTS, *OUTPUTS)]
                                  + [NewTopic(prefix + t.dlq, 1, 1) for t in INPUTS])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, bodies: list[bytes]) -> None:
    """Produce the backlog, spread over the partitions."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, body, key=uuid.uuid4().bytes) for body in bodies]
        for start in range(0, len(futures), 10_000):
            for future in futures[start:start + 10_000]:
                await future
    finally:
        await producer.stop()


class _Discard:
    """Publisher that drops events: prefilling needs only the database state."""

    async def publish_all(self, items: Any) -> None:
        """Drop the events."""


async def prefill(mongo_url: str, database: str, existing: int) -> None:
    """Give intake's database `existing` clients, registered through intake's own rules in bulk."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))  # prefill quietly
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        db = mongo[database]
        await ensure_indexes(db, INDEXES)
        service = IntakeService(IntakeRepository(db), _Discard(), IntakePolicy())
        for start in range(0, existing, PREFILL_BATCH):
            bodies = [lead(p) for p in range(start, min(existing, start + PREFILL_BATCH))]
            await service.ingest_batch([(topics.LEADS_FORM_SUBMITTED, _delivery(b)) for b in bodies])
    finally:
        await mongo.close()


def _delivery(body: bytes) -> Delivery:
    from aiokafka import ConsumerRecord

    record = ConsumerRecord(topics.LEADS_FORM_SUBMITTED.name, 0, 0, 0, 0, None, body, None, 0, len(body), [])
    return Delivery(record, json.loads(body)["event_id"], None)

