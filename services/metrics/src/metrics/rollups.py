"""Materialises the figures as rollup documents for dashboards that read MongoDB directly."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from metrics.definitions import Rules
from metrics.history import History
from metrics.periods import PERIOD_KINDS, next_start_date, period_start_date
from metrics.reader import HistoryReader
from metrics.repository import MetricsRepository

log = structlog.get_logger(__name__)

RANGE_KINDS = ("month", "quarter", "year")


def rollup_documents(history: History, zone: ZoneInfo, rules: Rules, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Every rollup document: retention per period of each kind, managers and sources per month, quarter and year."""
    if history.earliest is None or history.latest is None:
        return {"retention": [], "managers": [], "sources": []}
    first = history.earliest.astimezone(zone).date()
    last = max(history.latest, now).astimezone(zone).date() + timedelta(days=1)
    docs: dict[str, list[dict[str, Any]]] = {"retention": [], "managers": [], "sources": []}
    for kind in PERIOD_KINDS:
        start = period_start_date(kind, first)
        for item in history.retention(kind, start, last, zone, rules):
            docs["retention"].append({"_id": f"{kind}:{item['period_start'][:10]}", **item})
    for kind in RANGE_KINDS:
        start = period_start_date(kind, first)
        while start < last:
            end = next_start_date(kind, start)
            scope = {"period": kind, "period_start": start.isoformat(), "period_end": end.isoformat()}
            for item in history.managers(start, end, zone):
                docs["managers"].append({"_id": f"{kind}:{start}:{item['manager_id']}", **scope, **item})
            for item in history.sources(start, end, zone):
                key = json.dumps([item[f] for f in ("channel", "form_id", "utm_source", "utm_medium", "utm_campaign")])
                docs["sources"].append({"_id": f"{kind}:{start}:{key}", **scope, **item})
            start = end
    return docs


MAX_BUSY_SHARE = 0.25  # rewriting the rollups takes at most this share of the time, so folding events keeps the rest


def pause_after(took_s: float, interval_s: float) -> float:
    """The pause before the next rewrite: the interval, or longer when a rewrite took long (a large history)."""
    return max(interval_s, took_s * (1 / MAX_BUSY_SHARE - 1))


class Refresher:
    """Rewrites the active generation's rollups after new facts, at most once per interval, in the background.

    The read API always computes from the latest facts; the rollups are the dashboards' copy, so a rewrite that
    takes long waits three times its duration before the next, leaving the consumer most of the processor.
    """

    def __init__(self, repo: MetricsRepository, reader: HistoryReader, zone: ZoneInfo, rules: Rules,
                 interval_s: float) -> None:
        self.repo, self.reader, self.zone, self.rules, self.interval_s = repo, reader, zone, rules, interval_s
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Ask for a refresh; several pokes before it runs make one refresh."""
        self._wanted.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the background task."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def refresh(self, generation: int | None = None) -> int:
        """Recompute and write every rollup of a generation (the active one by default); return the basis."""
        if generation is None:
            generation, basis, history = await self.reader.current()
        else:
            basis, history = await self.reader.of_generation(generation)
        docs = await asyncio.to_thread(rollup_documents, history, self.zone, self.rules, datetime.now(UTC))
        await self.repo.write_rollups(generation, basis, docs)
        log.info("metrics.rollups_written", generation=generation, basis=basis,
                 documents=sum(len(v) for v in docs.values()))
        return basis

    async def _loop(self) -> None:
        while self._wanted.is_set():
            self._wanted.clear()
            started = time.monotonic()
            try:
                await self.refresh()
            except Exception:
                log.exception("metrics.rollups_failed")
            await asyncio.sleep(pause_after(time.monotonic() - started, self.interval_s))

