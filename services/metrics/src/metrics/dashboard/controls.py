"""The period and date-range controls of the dashboard pages, read from the query string with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from metrics.periods import PERIOD_KINDS, PeriodKind, next_start_date, period_start_date

SHOWN_PERIODS: dict[PeriodKind, int] = {"week": 13, "month": 12, "quarter": 8, "year": 5}


def _day(query: dict[str, list[str]], name: str) -> date | None:
    try:
        return date.fromisoformat((query.get(name) or [""])[0])
    except ValueError:
        return None


def default_range(kind: PeriodKind, today: date) -> tuple[date, date]:
    """The last few periods of a kind up to and including the one holding today."""
    before = next_start_date(kind, period_start_date(kind, today))
    first = before
    for _ in range(SHOWN_PERIODS[kind]):
        first = period_start_date(kind, first - timedelta(days=1))
    return first, before


@dataclass(frozen=True)
class Controls:
    """What a page shows: the period kind, the range [first, before) and the rotation plan's date."""

    period: PeriodKind
    first: date
    before: date
    as_of: date

    @classmethod
    def parse(cls, query: dict[str, list[str]], today: date) -> Controls:
        """Controls from `period`, `from`, `to` and `as_of`; anything missing or wrong falls back to a default."""
        raw = (query.get("period") or ["month"])[0]
        period: PeriodKind = raw if raw in PERIOD_KINDS else "month"  # type: ignore[assignment]
        first, before = _day(query, "from"), _day(query, "to")
        if first is None or before is None or first >= before:
            first, before = default_range(period, today)
        return cls(period, first, before, _day(query, "as_of") or today)

    def query(self) -> dict[str, list[str]]:
        """The controls as the read API's query parameters."""
        return {"period": [self.period], "from": [self.first.isoformat()], "to": [self.before.isoformat()]}
