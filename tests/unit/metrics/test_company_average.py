"""The company's average order: read from the store now and then, and moved by each state written in between."""

from __future__ import annotations

from decimal import Decimal

from metrics.company_average import CompanyAverage


class Store:
    """Sums as the store would aggregate them, counting the reads."""

    def __init__(self) -> None:
        self.sums: dict[str, tuple[float, int]] = {"EUR": (300.0, 3)}
        self.reads = 0

    async def read(self) -> dict[str, tuple[float, int]]:
        self.reads += 1
        return dict(self.sums)


def entry(currency: str, revenue: float, orders: int) -> dict[str, object]:
    return {"currency": currency, "revenue": revenue, "orders": orders}


async def test_the_sums_are_read_once_and_follow_the_states_written_until_the_refresh_is_due() -> None:
    store, now = Store(), [0.0]
    company = CompanyAverage(store.read, refresh_s=60.0, clock=lambda: now[0])
    assert await company.current() == {"EUR": Decimal(100)}
    company.account([entry("EUR", 100.1, 1)], [entry("EUR", 100.1, 1), entry("RON", 50.0, 2)])  # a sale in RON
    company.account([], [entry("EUR", 0.3, 1)])
    company.account([entry("EUR", 0.1, 1)], [])
    assert await company.current() == {"EUR": Decimal("300.2") / 3, "RON": Decimal(25)}
    assert store.reads == 1
    store.sums = {"EUR": (10.0, 1)}
    now[0] = 60.0
    assert await company.current() == {"EUR": Decimal(10)} and store.reads == 2


async def test_a_currency_left_without_orders_has_no_average_and_nothing_moves_before_the_first_read() -> None:
    store = Store()
    company = CompanyAverage(store.read, refresh_s=60.0, clock=lambda: 0.0)
    company.account([], [entry("EUR", 1000.0, 1)])  # before the first read: the read will include it
    assert await company.current() == {"EUR": Decimal(100)}
    company.account([entry("EUR", 300.0, 3)], [])
    assert await company.current() == {}
