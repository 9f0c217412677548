"""Intake's retention limit: raw quarantined input is deleted after the configured number of days."""

from __future__ import annotations

from clientbase.retention import Limit

from intake.settings import Settings
from intake.store import QUARANTINE


def retention_limits(settings: Settings) -> list[Limit]:
    """What intake's retention job deletes: quarantined inputs (raw bytes and reasons) past their days."""
    return [Limit(QUARANTINE, "quarantined_at", settings.quarantine_retention_days)]
