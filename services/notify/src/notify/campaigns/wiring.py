"""Builds notify's campaign objects on the connected database, and watches expanded campaigns until they finish."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from clientbase.periodic import Periodic
from clientbase.runtime import ServiceRuntime

from notify.campaigns.birthdays import BirthdayGreeter
from notify.campaigns.runner import CampaignRunner
from notify.campaigns.service import CampaignService
from notify.campaigns.store import CampaignStore
from notify.pipeline import Pipeline
from notify.repository import NotifyRepository


class CampaignParts:
    """The campaign runner and use cases, built once on first use."""

    def __init__(self, runtime: ServiceRuntime, core: Callable[[], tuple[NotifyRepository, Pipeline]], *,
                 clock: Callable[[], datetime], topic_prefix: str, page_size: int,
                 birthdays: Callable[[Pipeline], BirthdayGreeter] | None = None) -> None:
        self.runtime, self.core, self.clock, self.birthdays = runtime, core, clock, birthdays
        self.topic_prefix, self.page_size = topic_prefix, page_size
        self._built: tuple[CampaignRunner, CampaignService] | None = None
        self._periodic: Periodic | None = None

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
        greeted_at = [float("-inf")]

        async def check() -> None:
            await self.runner().check_open()
            if self.birthdays is not None and time.monotonic() - greeted_at[0] >= birthday_interval_s:
                greeted_at[0] = time.monotonic()
                await self.birthdays(self.core()[1]).greet()

        self._periodic = Periodic("notify-campaigns", check, interval_s)
        self._periodic.start()

    async def stop(self) -> None:
        """Stop watching and forget the objects bound to the database."""
        if self._periodic is not None:
            await self._periodic.stop()
            self._periodic = None
        self._built = None
