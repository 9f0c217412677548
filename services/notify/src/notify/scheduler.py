"""Runs parked requests when they are due, and resumes sends a crashed process left behind; state lives in MongoDB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from clientbase.periodic import Periodic

from notify.pipeline import Pipeline
from notify.repository import NotifyRepository

log = structlog.get_logger(__name__)

BATCH = 100


class Scheduler:
    """Polls for due requests every interval; a claim moves `due_at` by a lease, so replicas do not collide."""

    def __init__(self, repo: NotifyRepository, pipeline: Pipeline, *, interval_s: float, lease_s: float,
                 clock: Callable[[], datetime]) -> None:
        self.repo, self.pipeline = repo, pipeline
        self.interval_s, self.lease_s, self.clock = interval_s, lease_s, clock
        self._periodic: Periodic | None = None

    def start(self) -> None:
        """Start polling in the background."""
        self._periodic = Periodic("notify-scheduler", self.tick, self.interval_s)
        self._periodic.start()

    async def stop(self) -> None:
        """Stop polling."""
        if self._periodic is not None:
            await self._periodic.stop()
            self._periodic = None

    async def tick(self) -> int:
        """Claim and run what is due: parked requests, and sends whose lease ran out; return how many."""
        now = self.clock()
        lease = now + timedelta(seconds=self.lease_s)
        lease = lease.replace(microsecond=lease.microsecond // 1000 * 1000)  # BSON dates keep milliseconds
        handled = 0
        parked = await self._claim(await self.repo.due("parked", now, BATCH), lease)
        if parked:
            await self.pipeline.redecide(parked)
            handled += len(parked)
        left = await self.repo.due("queued", now, BATCH) + await self.repo.due("sending", now, BATCH)
        stale = await self._claim(left, lease)
        if stale:
            log.warning("notify.resuming_sends", count=len(stale))
            await self.pipeline.resume(stale)
            handled += len(stale)
        return handled

    async def _claim(self, docs: list[dict], lease: datetime) -> list[dict]:
        """Move each document's `due_at` to the lease; keep those this replica won."""
        won = []
        for doc in docs:
            if await self.repo.update_request({"_id": doc["_id"], "status": doc["status"], "due_at": doc["due_at"]},
                                              {"due_at": lease}):
                won.append({**doc, "due_at": lease})
        return won
