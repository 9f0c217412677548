"""Read-only HTTP route on rotation's port: `GET /rotation/plan?as_of=`, what the next sweep would move."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from clientbase.api_tokens import TokenGate
from clientbase.json_api import ApiError, JsonApi, Request, Route
from clientbase.runtime import ServiceRuntime

from rotation.domain import parse_moment
from rotation.repository import RotationRepository
from rotation.service import RotationService
from rotation.settings import Settings
from rotation.sweep import SweepReport, Sweeper

SERVICE = "rotation"
HANDOVER_LIMIT = 1000


def pairs_of(report: SweepReport, names: dict[str, str | None], managers: dict[str, str]) -> list[dict[str, Any]]:
    """The planned moves grouped by (from, to) manager pair, most clients first, each with its clients."""
    grouped: dict[tuple[str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    for line in report.plan:
        grouped[(line.from_manager_id, line.choice.manager_id)].append({
            "client_id": line.client_id, "name": names.get(line.client_id), "trigger": line.trigger,
            "deferral_reason": line.choice.deferral_reason})
    return [{"from_manager_id": source, "from_name": managers.get(source or ""), "to_manager_id": target,
             "to_name": managers.get(target or ""), "count": len(clients), "clients": clients}
            for (source, target), clients in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))]


def handover_items(docs: list[dict[str, Any]], as_of: datetime, managers: dict[str, str]) -> list[dict[str, Any]]:
    """Open handovers with their deadline and whether it has passed as of the moment."""
    items = []
    for doc in docs:
        deadline = doc["deadline"] if doc["deadline"].tzinfo else doc["deadline"].replace(tzinfo=UTC)
        items.append({"client_id": doc["client_id"], "manager_id": doc["manager_id"],
                      "manager_name": managers.get(doc["manager_id"]),
                      "previous_manager_id": doc.get("previous_manager_id"),
                      "previous_manager_name": managers.get(doc.get("previous_manager_id") or ""),
                      "deadline": deadline.isoformat(), "status": doc["status"],
                      "overdue": doc["status"] == "overdue" or deadline < as_of})
    return items


class Plan:
    """The plan preview; it never publishes nor writes."""

    def __init__(self, settings: Settings, runtime: ServiceRuntime) -> None:
        self.settings, self.runtime = settings, runtime

    async def plan(self, as_of: datetime) -> dict[str, Any]:
        """The plan as of a moment, grouped per manager pair, with the pending handovers."""
        repo = RotationRepository(self.runtime.db)
        report = await Sweeper(RotationService(repo, self.runtime.publisher, self.settings.rules()),
                               self.settings.sweep_batch_size).sweep(as_of, apply=False)
        managers = {m.manager_id: m.name for m in await repo.managers()}
        names = await repo.names(line.client_id for line in report.plan)
        return {"as_of": as_of.isoformat(), "due": len(report.plan),
                "pairs": pairs_of(report, names, managers),
                "handovers": handover_items(await repo.pending_handovers(HANDOVER_LIMIT), as_of, managers)}

    async def answer(self, request: Request) -> tuple[int, Any]:
        """GET /rotation/plan?as_of= (default: now)."""
        raw = request.one("as_of")
        try:
            as_of = parse_moment(raw) if raw else datetime.now(UTC)
        except ValueError:
            raise ApiError(422, "invalid_as_of", "as_of is not an ISO date or datetime") from None
        return 200, await self.plan(as_of)


def plan_api(settings: Settings, runtime: ServiceRuntime) -> JsonApi:
    """The plan preview under /rotation, behind ROTATION_API_TOKEN like the ownership API."""
    return JsonApi(SERVICE, "/rotation", TokenGate("ROTATION_API_TOKEN", settings.api_token), [
        Route("GET", "/rotation/plan", Plan(settings, runtime).answer,
              "What the next sweep would move as of a moment, per (from, to) manager pair with the clients' names, "
              "and the open handovers with their deadlines (overdue ones marked). Read-only.",
              query=(("as_of", "ISO date or datetime; default now"),),
              responses={200: "OK", 422: "as_of is not a date."}),
    ])
