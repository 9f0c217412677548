"""Composition root of the metrics service: run with `faststream run metrics.app:create_app --factory`."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from clientbase.runtime import ServiceRuntime

from metrics.api import ReadApi
from metrics.dashboard.pages import Dashboard
from metrics.handlers import build_router
from metrics.reader import HistoryReader
from metrics.repository import INDEXES, MetricsRepository
from metrics.rollups import Refresher
from metrics.segment_api import SegmentApi
from metrics.segment_store import SEGMENT_INDEXES
from metrics.segmenter import Segmenter
from metrics.segments_wiring import DailyPass, build_segmenter
from metrics.service import MetricsService
from metrics.settings import Settings

SERVICE = "metrics"


class Components:
    """The service's objects that need MongoDB, built once the app has connected."""

    def __init__(self, runtime: ServiceRuntime, settings: Settings) -> None:
        self.runtime, self.settings = runtime, settings
        self._built: tuple[HistoryReader, Refresher, MetricsService] | None = None
        self._segmenter: Segmenter | None = None

    def _build(self) -> tuple[HistoryReader, Refresher, MetricsService]:
        if self._built is None:
            repo = MetricsRepository(self.runtime.db)
            reader = HistoryReader(repo)
            refresher = Refresher(repo, reader, self.settings.zone(), self.settings.rules(),
                                  self.settings.rollup_interval_s)
            self._built = (reader, refresher, MetricsService(repo, refresher, self.settings.topic_prefix,
                                                             segmenter=self.segmenter()))
        return self._built

    def reader(self) -> HistoryReader:
        """The cached history reader."""
        return self._build()[0]

    def segmenter(self) -> Segmenter:
        """The segments use cases."""
        if self._segmenter is None:
            self._segmenter = build_segmenter(self.runtime, self.settings)
        return self._segmenter

    def service(self) -> MetricsService:
        """The use cases."""
        return self._build()[2]

    async def stop(self) -> None:
        """Stop background work."""
        if self._built is not None:
            await self._built[1].stop()
        self._built = self._segmenter = None


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """Build the metrics app; nothing connects until it starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(SERVICE, settings, indexes=(*INDEXES, *SEGMENT_INDEXES))
    parts = Components(runtime, settings)
    api = ReadApi(settings, parts.reader)
    dashboard = Dashboard(settings, api)
    runtime.include([build_router(runtime, parts.service, prefix=settings.topic_prefix)])
    app = runtime.build_app(
        description="Aggregates retention figures into MongoDB for dashboards and serves them over HTTP.",
        extra_routes=[*api.routes(), *dashboard.routes(), *SegmentApi(api, parts.segmenter).routes()],
    )
    daily = DailyPass(parts.segmenter, settings.segments_pass_interval_s)
    app.after_startup(daily.start)
    app.on_shutdown(daily.stop)
    app.on_startup(api.check_configured)
    app.on_startup(dashboard.assets.check)
    app.on_shutdown(parts.stop)
    return app
