"""Rebuild: replay the consumed topics from the beginning into a new generation, then switch readers to it."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import BaseModel, ValidationError

from clientbase.settings import KafkaSettings
from clientbase.topics import topic_named

from metrics.facts import CONSUMED, facts_of, parse
from metrics.repository import MetricsRepository
from metrics.rollups import Refresher

log = structlog.get_logger(__name__)


def consumer_options(settings: KafkaSettings) -> dict[str, Any]:
    """aiokafka connection options from the shared Kafka settings (SASL and TLS included)."""
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers.split(","),
                               "security_protocol": settings.security_protocol}
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(cafile=settings.ssl_cafile)
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return options


@dataclass
class RebuildReport:
    """What a rebuild did."""

    previous: int
    generation: int
    records: int
    skipped: int
    facts: int
    switched: bool


class Rebuilder:
    """Replays every consumed topic from offset 0 up to its end at the start, into the generation being built."""

    def __init__(self, repo: MetricsRepository, refresher: Refresher, kafka: KafkaSettings, topic_prefix: str = "",
                 batch_records: int = 2000) -> None:
        self.repo, self.refresher, self.kafka = repo, refresher, kafka
        self.topic_prefix, self.batch_records = topic_prefix, batch_records

    async def run(self) -> RebuildReport:
        """Claim a new generation, replay into it, switch readers over atomically and write its rollups."""
        previous, generation = await self.repo.start_building()
        log.info("metrics.rebuild_started", previous=previous, generation=generation)
        consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, client_id="metrics-rebuild",
                                    max_poll_records=self.batch_records, **consumer_options(self.kafka))
        await consumer.start()
        try:
            records, skipped = await self._replay(consumer, generation)
        finally:
            await consumer.stop()
        facts = await self.repo.basis(generation)
        switched = await self.repo.switch_to(previous, generation)
        if switched:
            await self.refresher.refresh(generation)
        log.info("metrics.rebuild_finished", generation=generation, records=records, skipped=skipped, facts=facts,
                 switched=switched)
        return RebuildReport(previous, generation, records, skipped, facts, switched)

    async def _replay(self, consumer: AIOKafkaConsumer, generation: int) -> tuple[int, int]:
        names = [self.topic_prefix + topic.name for topic in CONSUMED]
        partitions = await self._partitions(names)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = {tp: offset for tp, offset in (await consumer.end_offsets(partitions)).items() if offset > 0}
        records = skipped = 0
        while ends:
            batches = await consumer.getmany(*ends, timeout_ms=1000)
            events: list[BaseModel] = []
            for tp, batch in batches.items():
                for record in batch:
                    if record.offset >= ends.get(tp, 0):
                        continue
                    records += 1
                    try:
                        events.append(parse(topic_named(tp.topic.removeprefix(self.topic_prefix)), record.value or b""))
                    except (ValidationError, ValueError):
                        skipped += 1
            await self.repo.add_facts([generation], facts_of(events))
            for tp in list(ends):
                if await consumer.position(tp) >= ends[tp]:
                    del ends[tp]
        return records, skipped

    async def _partitions(self, names: list[str]) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(**consumer_options(self.kafka))
        await admin.start()
        try:
            described = await admin.describe_topics(names)
        finally:
            await admin.close()
        return [TopicPartition(t["topic"], p["partition"]) for t in described if not t.get("error_code")
                for p in t["partitions"]]
