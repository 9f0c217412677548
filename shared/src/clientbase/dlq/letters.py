"""Reads dead letters from `<topic>.dlq` topics and shows them with personal data masked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from clientbase.kafka.dead_letter import DLQ_HEADER_PREFIX
from clientbase.masking import mask_text, mask_value
from clientbase.topics import DLQ_SUFFIX

ORIGIN_TOPIC = DLQ_HEADER_PREFIX + "origin-topic"
REPLAY_HEADER = "x-replayed-from"  # kept if the replay fails again, so its next letter says where it came from


def dlq_name(topic: str) -> str:
    """The dead-letter topic of a name given either way (`sales.recorded` or `sales.recorded.dlq`)."""
    return topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic: where it sits, its original key and bytes, and the failure headers."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, record: ConsumerRecord[Any, Any]) -> DeadLetter:
        """Wrap a consumed record."""
        return cls(record.topic, record.partition, record.offset, record.timestamp, record.key,
                   bytes(record.value or b""), tuple(record.headers or ()))

    @property
    def ref(self) -> str:
        """Where the letter sits: `topic:partition:offset`, the key of its replay mark."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    def header(self, name: str) -> str | None:
        """One header as text."""
        return next((v.decode("utf-8", "replace") for k, v in self.headers if k == name and v is not None), None)

    @property
    def origin_topic(self) -> str:
        """The topic the record failed on: its origin header, else the dead-letter topic's name without `.dlq`."""
        return self.header(ORIGIN_TOPIC) or self.topic.removesuffix(DLQ_SUFFIX)

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original headers without the failure ones, plus where the replay came from."""
        kept = [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX) and k != REPLAY_HEADER]
        return [*kept, (REPLAY_HEADER, self.ref.encode())]

    @property
    def dead_lettered_at(self) -> datetime:
        """When the record was written to the dead-letter topic."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    def masked(self) -> dict[str, Any]:
        """The letter for display: headers and payload with phones, emails and names masked."""
        try:
            payload: Any = mask_value("payload", json.loads(self.value))
        except (ValueError, UnicodeDecodeError):
            payload = mask_text(self.value.decode("utf-8", "replace"))
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset,
                "dead_lettered_at": self.dead_lettered_at.isoformat(), "origin_topic": self.origin_topic,
                "key": mask_text(self.key.decode("utf-8", "replace")) if self.key else None,
                "headers": {k: mask_value(k, v.decode("utf-8", "replace") if v is not None else None)
                            for k, v in self.headers},
                "payload": payload}


@dataclass(frozen=True)
class Summary:
    """How many letters a dead-letter topic holds, and when the oldest and newest were written."""

    topic: str
    count: int
    oldest: datetime | None
    newest: datetime | None


class DeadLetters:
    """Reads dead-letter topics with a group-less consumer (it never commits, so reading changes nothing)."""

    def __init__(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
        self.consumer = consumer
        self.admin = admin

    async def topics(self) -> list[str]:
        """Every dead-letter topic on the cluster, sorted."""
        return sorted(t for t in await self.admin.list_topics() if t.endswith(DLQ_SUFFIX))

    async def bounds(self, topic: str) -> dict[TopicPartition, tuple[int, int]]:
        """First and end offset of every partition of a topic (none when the topic does not exist)."""
        [described] = await self.admin.describe_topics([topic])
        tps = [TopicPartition(topic, p["partition"]) for p in sorted(described.get("partitions") or [],
                                                                      key=lambda p: p["partition"])]
        if not tps:
            return {}
        first, end = await self.consumer.beginning_offsets(tps), await self.consumer.end_offsets(tps)
        return {tp: (first[tp], end[tp]) for tp in tps}

    async def at(self, tp: TopicPartition, offset: int) -> DeadLetter | None:
        """The letter at one offset, or None when there is none."""
        async for letter in self.read(tp.topic, partition=tp.partition, offset=offset):
            return letter
        return None

    async def summary(self, topic: str) -> Summary:
        """Count, oldest and newest of one dead-letter topic."""
        bounds = await self.bounds(topic)
        count = sum(end - first for first, end in bounds.values())
        times = [letter.dead_lettered_at for tp, (first, end) in bounds.items() if end > first
                 for offset in {first, end - 1} if (letter := await self.at(tp, offset)) is not None]
        return Summary(topic, count, min(times, default=None), max(times, default=None))

    async def read(self, topic: str, *, partition: int | None = None, offset: int | None = None
                   ) -> AsyncIterator[DeadLetter]:
        """The letters of a topic in offset order (one partition after another), or only the one at an offset."""
        for tp, (first, end) in (await self.bounds(topic)).items():
            if partition is not None and tp.partition != partition:
                continue
            start, stop = (offset, offset + 1) if offset is not None else (first, end)
            start, stop = max(start, first), min(stop, end)
            if start >= stop:
                continue
            self.consumer.assign([tp])
            self.consumer.seek(tp, start)
            position = start
            while position < stop:
                batch = await self.consumer.getmany(tp, timeout_ms=1000)
                for record in batch.get(tp, []):
                    if record.offset >= stop:
                        break
                    yield DeadLetter.of(record)
                position = await self.consumer.position(tp)
