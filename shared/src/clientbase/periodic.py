"""A background job run at start and then every interval, surviving a failing run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from clientbase.kafka.reliability import describe_error

log = structlog.get_logger(__name__)


class Periodic:
    """Runs an async job now and then every interval in the background; a failing run is logged, the next retries."""

    def __init__(self, name: str, job: Callable[[], Awaitable[object]], interval_s: float) -> None:
        self.name, self.job, self.interval_s = name, job, interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background loop."""
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Stop the background loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        """One run per interval."""
        while True:
            try:
                await self.job()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the next run retries
                log.warning("periodic.run_failed", job=self.name, error=describe_error(error))
            await asyncio.sleep(self.interval_s)
