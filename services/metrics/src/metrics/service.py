"""Use cases of the metrics service: record a batch of events as facts, then refresh the rollups."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog
from pydantic import BaseModel

from clientbase.kafka.reliability import Delivery
from clientbase.topics import topic_named

from metrics.facts import facts_of, parse
from metrics.repository import MetricsRepository
from metrics.rollups import Refresher
from metrics.segmenter import Segmenter

log = structlog.get_logger(__name__)


class MetricsService:
    """Turns batches of consumed events into facts of every writable generation."""

    def __init__(self, repo: MetricsRepository, refresher: Refresher, topic_prefix: str = "", writer: str = "",
                 segmenter: Segmenter | None = None) -> None:
        self.repo = repo
        self.segmenter = segmenter
        self.writer = writer or str(uuid.uuid4())
        self.refresher = refresher
        self.topic_prefix = topic_prefix

    def parse_all(self, batch: Sequence[Delivery]) -> list[BaseModel]:
        """Parse every record of a batch with its topic's contract model; raise on the first that is not one."""
        return [parse(topic_named(d.topic.removeprefix(self.topic_prefix)), d.body) for d in batch]

    async def record(self, batch: Sequence[Delivery]) -> None:
        """Record a batch: one unordered bulk insert per fact collection and generation."""
        events = self.parse_all(batch)
        facts = facts_of(events)
        generations = await self.repo.writable_generations()
        await self.repo.add_facts(generations, facts)
        await self.repo.mark_changed(self.writer, sum(len(docs) for docs in facts.values()))
        log.info("metrics.batch_recorded", events=len(events), generations=generations,
                 facts={name: len(docs) for name, docs in facts.items()})
        self.refresher.poke()
        if self.segmenter is not None:
            await self.segmenter.apply(events)
