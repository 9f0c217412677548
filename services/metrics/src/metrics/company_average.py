"""The company's average order per currency, summed by the store now and then and kept current by this process's writes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

Sums = dict[str, tuple[float, int]]  # currency -> (revenue, orders)


class CompanyAverage:
    """Revenue and orders per currency over every surviving client, so a batch never aggregates the whole collection.

    The store's sums are read on first use and again once `refresh_s` has passed (bringing in other replicas'
    writes); in between, each state this process writes moves the sums by the difference between the totals it
    had and the totals it has now, so a replica writing alone judges against the exact average (a write reported
    lost, which FerretDB v1 can do for one it applied, is counted at the next read).
    """

    def __init__(self, read_sums: Callable[[], Awaitable[Sums]], refresh_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read_sums, self._refresh_s, self._clock = read_sums, refresh_s, clock
        self._sums: dict[str, list[float]] | None = None
        self._read_at = 0.0

    async def current(self) -> dict[str, Decimal]:
        """The average order per currency, read again from the store when the last read is too old."""
        if self._sums is None or self._clock() - self._read_at >= self._refresh_s:
            await self.refresh()
        return averages(self._sums or {})

    async def refresh(self) -> dict[str, Decimal]:
        """Read the sums from the store now."""
        started = self._clock()
        self._sums = {currency: [float(revenue), int(orders)] for currency, (revenue, orders) in
                      (await self._read_sums()).items()}
        self._read_at = started
        return averages(self._sums)

    def account(self, before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]) -> None:
        """Move the sums by one written state's totals: those it was read with, then those it was written with."""
        if self._sums is None:
            return
        for sign, totals in ((-1, before), (1, after)):
            for entry in totals:
                sums = self._sums.setdefault(entry["currency"], [0.0, 0])
                sums[0] += sign * float(entry["revenue"])
                sums[1] += sign * int(entry["orders"])


def averages(sums: Mapping[str, list[float] | tuple[float, int]]) -> dict[str, Decimal]:
    """Revenue / orders per currency with orders."""
    return {currency: Decimal(str(round(revenue, 6))) / int(orders)
            for currency, (revenue, orders) in sums.items() if int(orders) > 0}
