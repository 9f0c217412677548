"""Facts read back as a history: late events, merges, duplicates and the read API's guards."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr, ValidationError

from clientbase import topics
from clientbase.events.outbound import ClientMerged, SaleAttributed

from metrics.api import ReadApi
from metrics.definitions import Rules
from metrics.facts import facts_of, parse
from metrics.history import History
from metrics.settings import Settings

UTC_ZONE = ZoneInfo("UTC")


def sale(event_id: str, client: str, order: str, at: datetime, kind: str = "order") -> SaleAttributed:
    return SaleAttributed.create(source="t", correlation_id=event_id, event_id=event_id, occurred_at=at,
                                 client_id=client, sale_event_id=event_id, order_id=order, kind=kind,
                                 amount=Decimal("10"), currency="rub", sold_at=at)


def merged(event_id: str, survivor: str, gone: str, at: datetime) -> ClientMerged:
    return ClientMerged.create(source="t", correlation_id=event_id, event_id=event_id, occurred_at=at,
                               client_id=survivor, merged_client_id=gone)


def months(events: list, first: date, before: date) -> list[dict]:
    history = History.of(facts_of(events))
    return history.retention("month", first, before, UTC_ZONE, Rules())


def test_a_late_event_lands_in_its_period_and_fixes_later_periods() -> None:
    on_time = [sale("e1", "a", "o1", datetime(2025, 6, 10, tzinfo=UTC))]
    late = sale("e2", "a", "o2", datetime(2024, 12, 10, tzinfo=UTC))
    before = months(on_time, date(2024, 12, 1), date(2025, 8, 1))
    after = months([*on_time, late], date(2024, 12, 1), date(2025, 8, 1))
    assert before[0]["orders"] == 0 and after[0]["orders"] == 1 and after[0]["new_customers"] == 1
    june_before, june_after = before[6], after[6]
    assert (june_before["customers_start"], june_before["new_customers"]) == (0, 1)
    assert (june_after["customers_start"], june_after["new_customers"], june_after["customers_end"]) == (1, 0, 1)
    assert all(set(item["revenue"]) <= {"RUB"} for item in after)


def test_a_merged_clients_sales_count_for_the_survivor_once() -> None:
    events = [sale("e1", "a", "o1", datetime(2025, 1, 5, tzinfo=UTC)),
              sale("e2", "b", "o2", datetime(2025, 1, 20, tzinfo=UTC)),
              sale("e3", "b", "o2", datetime(2025, 1, 22, tzinfo=UTC), kind="shipment"),
              merged("m1", "a", "b", datetime(2025, 3, 1, tzinfo=UTC))]
    [january] = months(events, date(2025, 1, 1), date(2025, 2, 1))
    assert (january["new_customers"], january["orders"], january["buyers"]) == (1, 2, 1)
    assert january["repeat_customer_rate"] == 100.0


def test_an_event_delivered_twice_is_one_fact() -> None:
    event = sale("e1", "a", "o1", datetime(2025, 1, 5, tzinfo=UTC))
    facts = facts_of([event, event])
    assert [doc["_id"] for doc in facts["sales"]] == ["e1"]
    assert facts["sales"][0]["currency"] == "RUB"


def test_bytes_that_are_not_the_topics_event_are_refused() -> None:
    with pytest.raises(ValidationError):
        parse(topics.SALES_ATTRIBUTED, b'{"event_id": "x"}')
    with pytest.raises(ValidationError):
        parse(topics.CLIENTS_MERGED, b"not json")


def test_the_api_refuses_to_start_without_a_token_unless_local_dev_allows_it() -> None:
    with pytest.raises(RuntimeError, match="METRICS_API_TOKEN"):
        ReadApi(Settings(api_token=None), lambda: None).check_configured()  # type: ignore[arg-type,return-value]
    ReadApi(Settings(api_token=None, api_allow_no_token=True), lambda: None).check_configured()  # type: ignore[arg-type,return-value]
    api = ReadApi(Settings(api_token=SecretStr("s3cret")), lambda: None)  # type: ignore[arg-type,return-value]
    assert api.authorized({"headers": [(b"authorization", b"Bearer s3cret")]})
    assert not api.authorized({"headers": [(b"authorization", b"Bearer nope")]})
    assert not api.authorized({"headers": []})
