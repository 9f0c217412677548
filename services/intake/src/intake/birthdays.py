"""Birth dates from forms: normalized to ISO, or dropped with a warning (never a rejected lead)."""

from __future__ import annotations

import re
from datetime import date

from intake.domain import Reason

PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$"), ("d", "m", "y")),
)
OLDEST_AGE_YEARS = 120


def normalize_birthday(raw: object, today: date) -> tuple[str | None, Reason | None]:
    """The birth date as YYYY-MM-DD, or None and the warning why a given one was dropped."""
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None, None
    for pattern, order in PATTERNS:
        if match := pattern.match(text):
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            try:
                born = date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                break
            if born > today or today.year - born.year > OLDEST_AGE_YEARS:
                return None, Reason("invalid_birthday", "fields.birthday", "not a plausible birth date")
            return born.isoformat(), None
    return None, Reason("invalid_birthday", "fields.birthday", "not a date (YYYY-MM-DD or DD.MM.YYYY)")
