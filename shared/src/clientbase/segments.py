"""The client segment rules, defined once: temperature, the VIP flag and activity (rule version below)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

RULE_VERSION = "segments-2026.1"
MONTH = timedelta(days=30)

Temperature = Literal["cold", "warm", "hot"]
Activity = Literal["active", "passive", "lost"]

RULES_TEXT: dict[str, str] = {
    "hot": "hot while the latest hot signal (a callback requested, a missed inbound call: `hot` on a client event) "
    "is younger than SEGMENTS_HOT_DAYS days and no purchase came after it",
    "warm": "warm when not hot and the client has at least one purchase",
    "cold": "cold when not hot and the client never bought",
    "vip": "VIP when the client has at least SEGMENTS_VIP_MIN_PURCHASES purchases spread over at least "
    "SEGMENTS_VIP_MIN_MONTHS months (30 days each, first to last purchase), or an average order of at least "
    "SEGMENTS_VIP_AVERAGE_FACTOR times the company's average order in the same currency",
    "activity": "active when the last purchase is at most METRICS_ACTIVE_DAYS old, passive when at most the "
    "activity window W (METRICS_ACTIVITY_WINDOW_DAYS) old, lost when older; none (null) for a client who never bought",
}


class SegmentSettings(BaseSettings):
    """Thresholds of the segment rules, shared by every service that judges a segment (prefix SEGMENTS_)."""

    model_config = SettingsConfigDict(env_prefix="SEGMENTS_", extra="ignore")

    hot_days: int = Field(7, ge=1, description="A hot signal keeps a client hot for this many days, unless it buys.")
    vip_min_purchases: int = Field(
        10, ge=1, description="VIP rule: at least this many purchases (rotation: sales) spread over the months below.",
    )
    vip_min_months: int = Field(
        12, ge=0, description="VIP rule: the purchases span at least this many 30-day months, first to last.",
    )
    vip_average_factor: float = Field(
        3.0, gt=0, description="VIP rule: or the client's average order is at least this many times the company's "
        "average order in the same currency.",
    )

    def vip_rule(self) -> VipRule:
        """The VIP rule with these thresholds."""
        return VipRule(self.vip_min_purchases, self.vip_min_months, Decimal(str(self.vip_average_factor)))


@dataclass(frozen=True)
class VipRule:
    """The VIP rule: many purchases over a long time, or a large average order compared to the company's."""

    min_purchases: int = 10
    min_months: int = 12
    average_factor: Decimal = Decimal(3)

    def by_purchases(self, count: int, first: datetime | None, last: datetime | None) -> bool:
        """Whether enough purchases lie far enough apart."""
        if count < self.min_purchases or first is None or last is None:
            return False
        return last - first >= self.min_months * MONTH

    def by_average(self, average: Mapping[str, Decimal], company: Mapping[str, Decimal]) -> bool:
        """Whether the average order in some currency reaches the factor times the company's average in it."""
        return any(company.get(currency, 0) > 0 and value >= self.average_factor * company[currency]
                   for currency, value in average.items())


@dataclass(frozen=True)
class Buy:
    """One purchase as the segment rules see it."""

    at: datetime
    amount: Decimal
    currency: str


def averages(buys: Sequence[Buy]) -> dict[str, Decimal]:
    """The average order per currency."""
    totals: dict[str, tuple[Decimal, int]] = {}
    for buy in buys:
        amount, count = totals.get(buy.currency, (Decimal(0), 0))
        totals[buy.currency] = (amount + buy.amount, count + 1)
    return {currency: amount / count for currency, (amount, count) in totals.items()}


def temperature(buys: Sequence[Buy], hot_signal_at: datetime | None, as_of: datetime, hot_days: int) -> Temperature:
    """Hot while a hot signal is young with no purchase after it, else warm with a purchase, else cold."""
    if hot_signal_at is not None and hot_signal_at <= as_of and as_of - hot_signal_at < timedelta(days=hot_days) \
            and not any(b.at > hot_signal_at for b in buys):
        return "hot"
    return "warm" if buys else "cold"


def activity(last_purchase_at: datetime | None, as_of: datetime, active: timedelta, window: timedelta) -> Activity | None:
    """Active within the active window, passive within W, lost beyond; None for a client who never bought."""
    if last_purchase_at is None:
        return None
    age = as_of - last_purchase_at
    return "active" if age <= active else "passive" if age <= window else "lost"


@dataclass(frozen=True)
class Windows:
    """The activity windows the segments use (the metrics definitions' windows)."""

    active: timedelta = timedelta(days=90)
    activity: timedelta = timedelta(days=365)


def judge(buys: Sequence[Buy], hot_signal_at: datetime | None, as_of: datetime, company: Mapping[str, Decimal],
          settings: SegmentSettings, windows: Windows) -> tuple[dict[str, object], dict[str, object]]:
    """A client's segment as of an instant from its purchases (at or before it), and the inputs that decided it."""
    seen = sorted((b for b in buys if b.at <= as_of), key=lambda b: b.at)
    first, last = (seen[0].at, seen[-1].at) if seen else (None, None)
    rule = settings.vip_rule()
    average = averages(seen)
    vip = rule.by_purchases(len(seen), first, last) or rule.by_average(average, company)
    segment = {"temperature": temperature(seen, hot_signal_at, as_of, settings.hot_days), "vip": vip,
               "activity": activity(last, as_of, windows.active, windows.activity)}
    inputs = {"purchases": len(seen), "first_purchase_at": first, "last_purchase_at": last,
              "hot_signal_at": hot_signal_at, "average_order": {k: str(round(v, 2)) for k, v in average.items()},
              "company_average_order": {k: str(round(v, 2)) for k, v in company.items()}}
    return segment, inputs
