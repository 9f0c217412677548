"""The figure definitions as pure functions: the worked example and the edge cases of DESIGN §2.5."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from metrics import definitions as d
from metrics.periods import covering_starts, period_bounds, period_start_date

RULES = d.Rules()
MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


def sale(event_id: str, client: str, order: str, at: datetime, amount: str = "100", kind: str = "order",
         currency: str = "RUB") -> d.SaleEvent:
    return d.SaleEvent(event_id, client, order, kind, at, Decimal(amount), currency)


def worked_example() -> list[d.SaleEvent]:
    """50 customers at the start (5 of whom lapse during March), 10 new in March."""
    sales = [sale(f"k{i}", f"kept-{i}", f"o-k{i}", datetime(2026, 2, 15, tzinfo=UTC)) for i in range(45)]
    sales += [sale(f"l{i}", f"lost-{i}", f"o-l{i}", datetime(2025, 3, 10, tzinfo=UTC)) for i in range(5)]
    sales += [sale(f"n{i}", f"new-{i}", f"o-n{i}", datetime(2026, 3, 10, tzinfo=UTC)) for i in range(10)]
    return sales


def test_worked_example_gives_e_55_and_crr_90() -> None:
    customers = d.Customers(d.purchases_of(worked_example(), {}))
    item = d.retention_item(customers, *MARCH, RULES, {})
    assert (item["customers_start"], item["new_customers"], item["lost_customers"]) == (50, 10, 5)
    assert item["customers_end"] == 55
    assert item["crr"] == 90.0
    assert item["churn_rate"] == 10.0


def test_purchase_counts_once_at_first_order_or_shipment_with_the_order_amount() -> None:
    events = [
        sale("e1", "c", "o1", datetime(2026, 3, 5, tzinfo=UTC), "70", kind="shipment"),
        sale("e2", "c", "o1", datetime(2026, 3, 9, tzinfo=UTC), "100", kind="order"),
        sale("e3", "c", "o1", datetime(2026, 3, 20, tzinfo=UTC), "999", kind="order"),
        sale("e4", "c", "o2", datetime(2026, 3, 6, tzinfo=UTC), "50", kind="payment"),
    ]
    [purchase] = d.purchases_of(events, {})
    assert purchase.at == datetime(2026, 3, 5, tzinfo=UTC)
    assert purchase.amount == Decimal("100")


def test_merged_clients_count_as_their_last_survivor() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    survivor = d.survivors([("a", "b", at, "m1"), ("b", "c", at, "m2"), ("a", "x", at + timedelta(1), "m3")])
    assert survivor == {"a": "c", "b": "c"}
    purchases = d.purchases_of([sale("1", "a", "o1", MARCH[0]), sale("2", "c", "o2", MARCH[0])], survivor)
    assert {p.client_id for p in purchases} == {"c"}


def test_active_at_the_window_edge_and_rates_null_without_customers() -> None:
    customers = d.Customers(d.purchases_of([sale("1", "c", "o", datetime(2025, 3, 1, tzinfo=UTC))], {}))
    assert customers.is_active("c", datetime(2026, 3, 1, tzinfo=UTC), timedelta(days=365))
    assert not customers.is_active("c", datetime(2026, 3, 1, 0, 0, 1, tzinfo=UTC), timedelta(days=365))
    assert not customers.is_active("c", datetime(2025, 2, 28, tzinfo=UTC), timedelta(days=365))
    empty = d.retention_item(d.Customers([]), *MARCH, RULES, {})
    assert empty["crr"] is None and empty["churn_rate"] is None and empty["ltv"] is None


def test_money_is_per_currency_and_total_only_for_one_currency() -> None:
    events = [sale("1", "a", "o1", datetime(2026, 3, 2, tzinfo=UTC), "100.50"),
              sale("2", "a", "o2", datetime(2026, 3, 12, tzinfo=UTC), "10", currency="EUR"),
              sale("3", "b", "o3", datetime(2026, 3, 22, tzinfo=UTC), "99.50")]
    item = d.retention_item(d.Customers(d.purchases_of(events, {})), *MARCH, RULES, {})
    assert item["revenue"] == {"EUR": 10.0, "RUB": 200.0}
    assert item["revenue_total"] is None
    assert item["average_order_value"] == {"EUR": 10.0, "RUB": 100.0}
    assert item["purchase_frequency"] == 1.5
    assert item["median_days_between_purchases"] == 10.0
    assert item["repeat_customer_rate"] == 50.0


def test_ltv_uses_the_year_before_end_and_caps_the_lifetime() -> None:
    events = [sale("1", "a", "o1", datetime(2025, 3, 15, tzinfo=UTC), "100"),
              sale("2", "a", "o2", datetime(2026, 2, 15, tzinfo=UTC), "300")]
    item = d.retention_item(d.Customers(d.purchases_of(events, {})), *MARCH, RULES, {})
    assert item["ltv"] == {"RUB": 3000.0}
    assert item["active_customers"] == 1 and item["passive_customers"] == 0


def test_rotation_effect_counts_rotations_and_initial_assignments_apart() -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    assignments = [d.Assignment("a1", "c1", "m1", None, "initial", at),
                   d.Assignment("a2", "c2", "m1", "m2", "no_first_sale", at),
                   d.Assignment("a3", "c3", "m1", "m2", "manual", at)]
    customers = d.Customers(d.purchases_of([sale("1", "c2", "o", at + timedelta(days=30))], {}))
    [m1, m2] = d.manager_items(customers, assignments, set(), {"m1": "Anna"}, *MARCH, {})
    assert (m1["assigned"], m1["rotations_in"], m1["rotated_count"], m1["rotated_conversion_90d"]) == (3, 1, 1, 100.0)
    assert (m1["initial_count"], m1["initial_conversion_90d"], m1["clients_held"]) == (1, 0.0, 3)
    assert m1["first_sale_conversion"] == 33.33
    assert (m2["rotations_out"], m2["name"]) == (1, None)


def test_periods_are_iso_weeks_months_quarters_years_in_the_company_zone() -> None:
    zone = ZoneInfo("Europe/Moscow")
    assert period_start_date("week", date(2026, 3, 1)) == date(2026, 2, 23)
    assert period_start_date("quarter", date(2026, 8, 9)) == date(2026, 7, 1)
    start, end = period_bounds("month", date(2026, 3, 1), zone)
    assert start.isoformat() == "2026-03-01T00:00:00+03:00" and end.isoformat() == "2026-04-01T00:00:00+03:00"
    assert covering_starts("year", datetime(2024, 12, 31, 22, tzinfo=UTC), MARCH[0], zone) == [
        date(2025, 1, 1), date(2026, 1, 1)]


def test_every_definition_is_in_the_service_readme_in_the_same_words() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[3] / "services" / "metrics" / "README.md").read_text()
    for name, text in d.DEFINITIONS.items():
        assert f"- **{name}**: {text}" in readme, name
