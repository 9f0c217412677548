"""Calendar periods in the company time zone: ISO weeks (Monday), months, quarters and years, half-open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

PeriodKind = Literal["week", "month", "quarter", "year"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("week", "month", "quarter", "year")


def period_start_date(kind: PeriodKind, day: date) -> date:
    """The first day of the period of this kind that contains a day."""
    if kind == "week":
        return day - timedelta(days=day.weekday())
    if kind == "month":
        return day.replace(day=1)
    if kind == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def next_start_date(kind: PeriodKind, start: date) -> date:
    """The first day of the period after the one starting on `start`."""
    if kind == "week":
        return start + timedelta(days=7)
    if kind == "year":
        return date(start.year + 1, 1, 1)
    months = 1 if kind == "month" else 3
    month0 = start.month - 1 + months
    return date(start.year + month0 // 12, month0 % 12 + 1, 1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a calendar day begins in a time zone."""
    return datetime.combine(day, time(0), tzinfo=zone)


def period_starts(kind: PeriodKind, first: date, before: date) -> Iterator[date]:
    """The first days of the periods of a kind that start in [first, before)."""
    start = period_start_date(kind, first)
    if start < first:
        start = next_start_date(kind, start)
    while start < before:
        yield start
        start = next_start_date(kind, start)


def period_bounds(kind: PeriodKind, start: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The half-open interval [start, end) of the period starting on a day, as instants in the zone."""
    return local_midnight(start, zone), local_midnight(next_start_date(kind, start), zone)


def covering_starts(kind: PeriodKind, earliest: datetime, latest: datetime, zone: ZoneInfo) -> list[date]:
    """The first days of every period of a kind from the one holding `earliest` to the one holding `latest`."""
    first = period_start_date(kind, earliest.astimezone(zone).date())
    last = latest.astimezone(zone).date()
    return list(period_starts(kind, first, last + timedelta(days=1)))
