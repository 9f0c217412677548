"""Retention limits: delete documents older than a configured number of days, report what went, repeat daily."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.events.envelope import new_event_id, utc_now
from clientbase.mongo import create_mongo_client
from clientbase.periodic import Periodic
from clientbase.settings import ServiceSettings

log = structlog.get_logger(__name__)

RETENTION_RUNS = "retention_runs"


@dataclass(frozen=True)
class Limit:
    """Documents of one collection whose date field is older than `days` are deleted (those matching `where`)."""

    collection: str
    date_field: str
    days: int
    where: Mapping[str, Any] = field(default_factory=dict)

    def query(self, now: datetime) -> dict[str, Any]:
        """The filter of what this limit removes at `now`: one `delete_many`, never a document at a time."""
        return {**self.where, self.date_field: {"$lt": now - timedelta(days=self.days)}}


async def purge(db: AsyncDatabase[dict[str, Any]], service: str, limits: Sequence[Limit],
                now: datetime | None = None) -> dict[str, int]:
    """Apply every limit with one batched delete each; record and log the counts (no personal data in either)."""
    now = now or utc_now()
    removed: dict[str, int] = {}
    for limit in limits:
        result = await db[limit.collection].delete_many(limit.query(now))
        removed[limit.collection] = removed.get(limit.collection, 0) + result.deleted_count
    await db[RETENTION_RUNS].insert_one({
        "_id": new_event_id(), "service": service, "ran_at": now, "removed": removed,
        "limits": [{"collection": x.collection, "date_field": x.date_field, "days": x.days} for x in limits]})
    log.info("retention.purged", service=service, removed=removed, total=sum(removed.values()))
    return removed


async def purge_once(service: str, settings: ServiceSettings, limits: Sequence[Limit]) -> dict[str, int]:
    """Connect to the service's database, apply its limits once (the CLI's `purge`), and disconnect."""
    client = create_mongo_client(settings.mongo, app_name=service)
    try:
        return await purge(client[settings.database], service, limits)
    finally:
        await client.close()


def schedule(app: Any, name: str, job: Callable[[], Awaitable[object]], interval_s: float) -> None:
    """Run `job` in the app's process after startup and every `interval_s` (0 leaves it to an outside scheduler)."""
    if interval_s <= 0:
        return
    running: list[Periodic] = []

    @app.after_startup
    async def start_periodic() -> None:
        running.append(Periodic(name, job, interval_s))
        running[-1].start()

    @app.on_shutdown
    async def stop_periodic() -> None:
        while running:
            await running.pop().stop()
