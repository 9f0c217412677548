"""Notify's retention limit: the delivery log (finished requests) is deleted after the configured number of days."""

from __future__ import annotations

from clientbase.retention import Limit

from notify.repository import REQUESTS, SEND_CLAIMS
from notify.settings import Settings


def retention_limits(settings: Settings) -> list[Limit]:
    """What notify's retention job deletes: finished requests (address, parameters, outcome) and their send claims
    past their days."""
    return [Limit(REQUESTS, "first_seen", settings.delivery_log_retention_days, {"status": "done"}),
            Limit(SEND_CLAIMS, "at", settings.delivery_log_retention_days)]
