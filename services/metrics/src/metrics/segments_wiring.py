"""Builds the segments use cases from the service's settings, and runs their daily pass in the background."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from clientbase.runtime import ServiceRuntime

from metrics.company_average import CompanyAverage
from metrics.segment_store import SegmentStore
from metrics.segmenter import Segmenter
from metrics.settings import Settings


def build_segmenter(runtime: ServiceRuntime, settings: Settings) -> Segmenter:
    """The segmenter on the service's database and publisher."""
    store = SegmentStore(runtime.db, runtime.reads, settings.segments_cache_size)
    company = CompanyAverage(store.company_sums, settings.segments_company_refresh_s)
    return Segmenter(store, company, runtime.publisher, settings.segments, settings.windows(), settings.topic_prefix,
                     page_size=settings.segments_page_size)


class DailyPass:
    """The background task that runs the segments pass when it is due."""

    def __init__(self, segmenter: Callable[[], Segmenter], interval_s: float) -> None:
        self.segmenter, self.interval_s = segmenter, interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the task once the service has connected."""
        self._task = asyncio.create_task(self.segmenter().run_daily(self.interval_s))

    async def stop(self) -> None:
        """Cancel the task."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
