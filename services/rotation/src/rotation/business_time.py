"""Business minutes between two instants in a time zone: weekdays Monday to Friday within the daily hours (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessHours:
    """The working day of a region: opening and closing time on Monday to Friday."""

    opens: time = time(9, 0)
    closes: time = time(18, 0)

    def minutes_between(self, start: datetime, end: datetime, zone: ZoneInfo) -> int:
        """Whole business minutes in [start, end) as the clocks of the zone show them."""
        if end <= start:
            return 0
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        total = timedelta()
        day = local_start.date()
        while day <= local_end.date():
            if day.weekday() < 5:
                opens = datetime.combine(day, self.opens, zone)
                closes = datetime.combine(day, self.closes, zone)
                low, high = max(opens, local_start), min(closes, local_end)
                if high > low:
                    total += high - low
            day += timedelta(days=1)
        return int(total.total_seconds() // 60)
