"""Replays dead letters to their origin topics once: each replay is remembered on the `dlq.replayed` topic.

A letter goes back with its original key and bytes and its original headers (the failure headers dropped, an
`x-replayed-from` header added), so the consumer sees the event it failed on, with the same `event_id`.
The mark is written after the publish is acknowledged; a crash between the two republishes the letter on the
next run, which is harmless because every consumer skips an `event_id` it has handled.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from clientbase.dlq.letters import DeadLetter
from clientbase.events.envelope import utc_now
from clientbase.topics import DLQ_REPLAYS


@dataclass
class ReplayReport:
    """What a replay did: letters republished, letters skipped because they went back before, and where."""

    replayed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    dry_run: bool = False


async def ensure_replay_log(admin: AIOKafkaAdminClient) -> None:
    """Create the replay log topic when a cluster does not have it yet (kept forever, like the event topics)."""
    if DLQ_REPLAYS in set(await admin.list_topics()):
        return
    try:
        await admin.create_topics([NewTopic(DLQ_REPLAYS, 1, 1, topic_configs={"retention.ms": "-1"})])
    except TopicAlreadyExistsError:
        pass


async def replayed_refs(consumer: AIOKafkaConsumer) -> set[str]:
    """The letters replayed before, read from the replay log."""
    tp = TopicPartition(DLQ_REPLAYS, 0)
    consumer.assign([tp])
    first, end = (await consumer.beginning_offsets([tp]))[tp], (await consumer.end_offsets([tp]))[tp]
    consumer.seek(tp, first)
    refs: set[str] = set()
    while first < end and await consumer.position(tp) < end:
        for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
            if record.key:
                refs.add(record.key.decode())
    return refs


class Replayer:
    """Republishes letters to their origin topics and marks each one replayed."""

    def __init__(self, producer: AIOKafkaProducer, done: set[str]) -> None:
        self.producer = producer
        self.done = done

    async def replay(self, letters: Sequence[DeadLetter], *, dry_run: bool = False,
                     advance: Callable[[DeadLetter], None] = lambda letter: None) -> ReplayReport:
        """Replay the letters not replayed before, in order; `advance` is called after each one."""
        report = ReplayReport(dry_run=dry_run)
        for letter in letters:
            if letter.ref in self.done:
                report.already.append(letter.ref)
            elif dry_run:
                report.replayed.append(letter.ref)
            else:
                sent = await self.producer.send_and_wait(letter.origin_topic, letter.value, key=letter.key,
                                                         headers=letter.replay_headers())
                mark = {"dlq_topic": letter.topic, "partition": letter.partition, "offset": letter.offset,
                        "origin_topic": letter.origin_topic, "replayed_partition": sent.partition,
                        "replayed_offset": sent.offset, "replayed_at": utc_now().isoformat()}
                await self.producer.send_and_wait(DLQ_REPLAYS, json.dumps(mark).encode(), key=letter.ref.encode())
                self.done.add(letter.ref)
                report.replayed.append(letter.ref)
            advance(letter)
        return report
