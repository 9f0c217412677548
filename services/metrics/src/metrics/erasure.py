"""Metrics' side of an erasure: its facts hold no personal data (ids, dates, amounts, channels), so figures stay.

The client is marked erased, so its export answers `erased`, and the request is reported on clients.erased
with nothing touched but the mark; a rebuild replays the same anonymous facts and gives the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from clientbase.erasure.export import Collect, documents_of
from clientbase.erasure.kit import Report

from metrics.facts import ACTIVITIES, ASSIGNMENTS, HANDOVERS, LEADS, OUTCOMES, SALES
from metrics.repository import MetricsRepository, collection_name

EXPORTED = {LEADS: "client_id", SALES: "client_id", ASSIGNMENTS: "client_id", ACTIVITIES: "client_id",
            HANDOVERS: "client_id", OUTCOMES: "client_id"}


async def erase_nothing(client_ids: Sequence[str]) -> Report:
    """Metrics holds no personal data of a client: nothing to remove, the figures stay equal."""
    return {}


def exported(repository: Callable[[], MetricsRepository]) -> Collect:
    """The client's facts in the active generation, for its export."""
    async def collect(client_id: str) -> dict[str, list[dict[str, Any]]]:
        repo = repository()
        active = (await repo.pointer())["active"]
        found = await documents_of(lambda: repo.db, {collection_name(active, n): f for n, f in EXPORTED.items()})(
            client_id)
        return {name: found[collection_name(active, name)] for name in EXPORTED}
    return collect
