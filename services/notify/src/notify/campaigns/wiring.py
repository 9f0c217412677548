"""Builds notify's campaign objects on the connected database, and watches expanded campaigns until they finish."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

import structlog

from clientbase.kafka.reliability import describe_error
from clientbase.runtime import ServiceRuntime

from notify.campaigns.runner import CampaignRunner
from notify.campaigns.service import CampaignService
from notify.campaigns.store import CampaignStore
from notify.pipeline import Pipeline
from notify.repository import NotifyRepository

log = structlog.get_logger(__name__)


class CampaignParts:
    """The campaign runner and use cases, built once on first use."""

    def __init__(self, runtime: ServiceRuntime, core: Callable[[], tuple[NotifyRepository, Pipeline]], *,
                 clock: Callable[[], datetime], topic_prefix: str, page_size: int) -> None:
        self.runtime, self.core, self.clock = runtime, core, clock
        self.topic_prefix, self.page_size = topic_prefix, page_size
        self._built: tuple[CampaignRunner, CampaignService] | None = None
        self._task: asyncio.Task[None] | None = None

    def build(self) -> tuple[CampaignRunner, CampaignService]:
        """Runner and use cases."""
        if self._built is None:
            repo, pipeline = self.core()
            runner = CampaignRunner(CampaignStore(self.runtime.db), repo, pipeline, self.runtime.publisher,
                                    clock=self.clock, topic_prefix=self.topic_prefix, page_size=self.page_size)
            self._built = (runner, CampaignService(repo, runner))
        return self._built

    def runner(self) -> CampaignRunner:
        """The campaign runner."""
        return self.build()[0]

    def service(self) -> CampaignService:
        """The campaign use cases."""
        return self.build()[1]

    async def watch(self, interval_s: float) -> None:
        """Start publishing the reports of expanded campaigns whose messages all became final (parked ones later)."""
        async def loop() -> None:
            while True:
                try:
                    await self.runner().check_open()
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - the next round retries
                    log.warning("notify.campaign_check_failed", error=describe_error(error))
                await asyncio.sleep(interval_s)
        self._task = asyncio.create_task(loop(), name="notify-campaigns")

    async def stop(self) -> None:
        """Stop watching and forget the objects bound to the database."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._built = None
