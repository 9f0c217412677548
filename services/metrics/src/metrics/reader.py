"""The active generation's history, loaded once and then only what was added, shared by the API and the rollups."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from metrics.history import History, aware
from metrics.repository import MetricsRepository

log = structlog.get_logger(__name__)

OVERLAP = timedelta(minutes=5)


@dataclass
class Loaded:
    """The fact documents of one generation held in memory, and what the history built from them saw."""

    generation: int
    docs: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=dict)
    marker: tuple[tuple[str, int], ...] | None = None
    high_water: datetime | None = None
    full_at: float = 0.0
    history: History | None = None

    @property
    def basis(self) -> int:
        """How many facts the history was built from."""
        return sum(len(docs) for docs in self.docs.values())

    def merge(self, facts: dict[str, list[dict[str, Any]]]) -> None:
        """Add fact documents (a fact never changes, so a known `_id` is skipped)."""
        for name, docs in facts.items():
            known = self.docs.setdefault(name, {})
            for doc in docs:
                known.setdefault(doc["_id"], doc)
                if "ingested" in doc and (self.high_water is None or aware(doc["ingested"]) > self.high_water):
                    self.high_water = aware(doc["ingested"])


class HistoryReader:
    """Keeps the history of the active generation current: a change marker says when to read the added facts."""

    def __init__(self, repo: MetricsRepository, full_reload_s: float = 300.0) -> None:
        self.repo = repo
        self.full_reload_s = full_reload_s
        self._loaded: Loaded | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> tuple[int, int, History]:
        """The active generation, its basis and its history as of now."""
        async with self._lock:
            generation = (await self.repo.pointer())["active"]
            loaded = await self._load(generation)
            return generation, loaded.basis, loaded.history  # type: ignore[return-value]

    async def of_generation(self, generation: int) -> tuple[int, History]:
        """The basis and history of a given generation."""
        async with self._lock:
            loaded = await self._load(generation)
            return loaded.basis, loaded.history  # type: ignore[return-value]

    async def _load(self, generation: int) -> Loaded:
        marker = await self.repo.change_marker()
        loaded = self._loaded
        if loaded is not None and loaded.generation == generation and loaded.marker == marker and loaded.history:
            return loaded
        fresh = loaded is None or loaded.generation != generation or loaded.high_water is None \
            or time.monotonic() - loaded.full_at > self.full_reload_s
        if fresh:
            loaded = Loaded(generation, full_at=time.monotonic())
            loaded.merge(await self.repo.load_facts(generation))
        else:
            assert loaded is not None and loaded.high_water is not None
            loaded.merge(await self.repo.facts_since(generation, loaded.high_water - OVERLAP))
        loaded.marker = marker
        loaded.history = await asyncio.to_thread(History.of, {n: list(d.values()) for n, d in loaded.docs.items()})
        self._loaded = loaded
        log.debug("metrics.history_loaded", generation=generation, basis=loaded.basis, full=fresh)
        return loaded
