"""Builds notify's campaign objects on the connected database, and watches expanded campaigns until they finish."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime

import structlog

from clientbase.kafka.reliability import describe_error
from clientbase.runtime import ServiceRuntime

from notify.campaigns.birthdays import BirthdayGreeter
from notify.campaigns.runner import CampaignRunner
from notify.campaigns.service import CampaignService
from notify.campaigns.store import CampaignStore
from notify.pipeline import Pipeline
from notify.repository import NotifyRepository

log = structlog.get_logger(__name__)


class CampaignParts:
    """The campaign runner and use cases, built once on first use."""

    def __init__(self, runtime: ServiceRuntime, core: Callable[[], tuple[NotifyRepository, Pipeline]], *,
                 clock: Callable[[], datetime], topic_prefix: str, page_size: int,
                 birthdays: Callable[[Pipeline], BirthdayGreeter] | None = None) -> None:
        self.runtime, self.core, self.clock, self.birthdays = runtime, core, clock, birthdays
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

    async def watch(self, interval_s: float, birthday_interval_s: float) -> None:
        """Start publishing the reports of expanded campaigns whose messages all became final (parked ones later),
        and greeting birthdays every `birthday_interval_s`."""
        async def loop() -> None:
            greeted_at = float("-inf")
            while True:
                try:
                    await self.runner().check_open()
                    if self.birthdays is not None and time.monotonic() - greeted_at >= birthday_interval_s:
                        greeted_at = time.monotonic()
                        await self.birthdays(self.core()[1]).greet()
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
