"""The shared segment rules: temperature, VIP and activity at their boundaries, and their documented texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from clientbase.segments import RULE_VERSION, RULES_TEXT, Buy, VipRule, activity, temperature

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)
REPO = Path(__file__).resolve().parents[3]


def test_hot_lasts_the_configured_days_unless_a_purchase_follows() -> None:
    bought = [Buy(NOW - 30 * DAY, Decimal(5), "RUB")]
    assert temperature(bought, NOW - 6 * DAY, NOW, 7) == "hot"
    assert temperature(bought, NOW - 7 * DAY, NOW, 7) == "warm"
    assert temperature([], NOW - 8 * DAY, NOW, 7) == "cold"
    assert temperature([*bought, Buy(NOW - DAY, Decimal(5), "RUB")], NOW - 2 * DAY, NOW, 7) == "warm"


def test_vip_by_purchases_over_months_or_by_a_large_average_order() -> None:
    rule = VipRule(min_purchases=3, min_months=2, average_factor=Decimal(3))
    assert rule.by_purchases(3, NOW - 60 * DAY, NOW)
    assert not rule.by_purchases(3, NOW - 59 * DAY, NOW)
    assert not rule.by_purchases(2, NOW - 600 * DAY, NOW)
    assert rule.by_average({"EUR": Decimal(30)}, {"EUR": Decimal(10), "RUB": Decimal(1)})
    assert not rule.by_average({"RUB": Decimal(29)}, {"EUR": Decimal(1), "RUB": Decimal(10)})


def test_activity_windows() -> None:
    active, window = 90 * DAY, 365 * DAY
    assert activity(NOW - 90 * DAY, NOW, active, window) == "active"
    assert activity(NOW - 91 * DAY, NOW, active, window) == "passive"
    assert activity(NOW - 366 * DAY, NOW, active, window) == "lost"
    assert activity(None, NOW, active, window) is None


def test_the_metrics_readme_states_the_rules_word_for_word() -> None:
    readme = (REPO / "services" / "metrics" / "README.md").read_text(encoding="utf-8")
    assert RULE_VERSION in readme
    for name, text in RULES_TEXT.items():
        assert f"- **{name}**: {text}." in readme
