"""MongoDB collections and indexes the rotation service owns, and the guarded writes on them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from clientbase.mongo import IndexSpec

from rotation.bulk import bucket_of
from rotation.domain import Client, Manager, Rules, Standing

MANAGERS = "managers"
CLIENTS = "clients"
ASSIGNMENTS = "assignments"
HANDOVERS = "handovers"
DEFERRALS = "deferrals"
STATS = "manager_stats"
MARKS = "sweep_marks"
DUPLICATE_KEY = 11000

OWNED = "owned"
UNASSIGNED = "unassigned"
MERGED = "merged"

INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(CLIENTS, [("status", 1), ("has_sale", 1), ("activity_since", 1), ("_id", 1)], name="sweep"),
    IndexSpec(CLIENTS, [("manager_id", 1), ("status", 1)], name="owner"),
    IndexSpec(CLIENTS, [("status", 1), ("registered_at", 1), ("_id", 1)], name="unassigned"),
    IndexSpec(CLIENTS, [("assignment.cause_event_id", 1)], name="assignment_cause"),
    IndexSpec(ASSIGNMENTS, [("client_id", 1), ("epoch", 1)], name="client_history"),
    IndexSpec(ASSIGNMENTS, [("manager_id", 1), ("rotation", 1)], name="received"),
    IndexSpec(ASSIGNMENTS, [("previous_manager_id", 1), ("rotation", 1)], name="given"),
    IndexSpec(HANDOVERS, [("status", 1), ("deadline", 1)], name="overdue"),
    IndexSpec(HANDOVERS, [("client_id", 1), ("manager_id", 1)], name="client_handovers"),
    IndexSpec(DEFERRALS, [("client_id", 1)], name="client_deferrals"),
)


def to_manager(doc: Mapping[str, Any]) -> Manager:
    """The domain manager of a roster document."""
    return Manager(doc["_id"], doc["grade"], doc["status"], doc["capacity"], tuple(doc.get("regions", ())),
                   tuple(doc.get("languages", ())), bool(doc.get("is_head")), doc.get("name", ""))


def to_client(doc: Mapping[str, Any]) -> Client:
    """The domain client of an ownership document."""
    return Client(
        client_id=doc["_id"], manager_id=doc.get("manager_id"), epoch=doc.get("epoch", 0),
        assigned_at=doc.get("assigned_at"), first_sale_at=doc.get("first_sale_at"),
        last_sale_at=doc.get("last_sale_at"), sales_count=doc.get("sales_count", 0),
        revenue=doc.get("revenue", 0.0), kind=doc.get("kind", "person"), region=doc.get("region"),
        country=doc.get("country"), language=doc.get("language"),
        previous_owners=tuple(doc.get("previous_owners", ())), deferrals=doc.get("deferrals", 0),
        handled_by_manager_id=doc.get("handled_by_manager_id"),
    )


class RotationRepository:
    """Reads and guarded writes of rotation's own database."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    async def save_manager(self, manager_id: str, fields: dict[str, Any], occurred_at: datetime) -> bool:
        """Store a roster change unless a newer one is already stored; True when applied."""
        try:
            result = await self.db[MANAGERS].update_one(
                {"_id": manager_id, "$or": [{"occurred_at": {"$lte": occurred_at}}, {"occurred_at": None}]},
                {"$set": {**fields, "occurred_at": occurred_at}}, upsert=True)
        except DuplicateKeyError:
            return False
        return result.matched_count > 0 or result.upserted_id is not None

    async def managers(self) -> list[Manager]:
        """The whole roster, sorted by id."""
        return [to_manager(d) async for d in self.db[MANAGERS].find({}).sort("_id", ASCENDING)]

    async def standings(self) -> list[Standing]:
        """Every manager with load and rotation balance, summed from the counter buckets."""
        # Summed here, not by $group: FerretDB v1 returns 0 for every $sum accumulator but the first.
        totals: dict[str, dict[str, int]] = {}
        async for row in self.db[STATS].find({}, {"applied": 0}):
            total = totals.setdefault(row["manager_id"], {"load": 0, "received": 0, "given": 0})
            for name in total:
                total[name] += int(row.get(name, 0))
        return [Standing(m, load=int(totals.get(m.manager_id, {}).get("load", 0)),
                         received=int(totals.get(m.manager_id, {}).get("received", 0)),
                         given=int(totals.get(m.manager_id, {}).get("given", 0)))
                for m in await self.managers()]

    async def count(self, manager_id: str, entry_id: str, *, load: int = 0, received: int = 0,
                    given: int = 0) -> bool:
        """Add to a manager's counters exactly once per entry id; True when it was new.

        The entry id is remembered in the same document as the counters it changed (one of a few hash
        buckets per manager, so no array grows large), which makes the increment idempotent without
        transactions.
        """
        try:
            result = await self.db[STATS].update_one(
                {"_id": bucket_of(manager_id, entry_id), "applied": {"$ne": entry_id}},
                {"$inc": {"load": load, "received": received, "given": given}, "$push": {"applied": entry_id},
                 "$setOnInsert": {"manager_id": manager_id}}, upsert=True)
        except DuplicateKeyError:
            return False
        return result.modified_count > 0 or result.upserted_id is not None

    async def client(self, client_id: str) -> dict[str, Any] | None:
        """One client's ownership document."""
        return await self.db[CLIENTS].find_one({"_id": client_id})

    async def claim(self, client_id: str, fields: dict[str, Any], assigned_at: datetime | None) -> bool:
        """Create the client's first ownership unless one exists; True when this call created it."""
        update: dict[str, Any] = {
            "$set": fields,
            "$setOnInsert": {"has_sale": False, "sales_count": 0, "revenue": 0.0, "sale_ids": []},
        }
        if assigned_at is not None:
            update["$max"] = {"activity_since": assigned_at}
        try:
            result = await self.db[CLIENTS].update_one(
                {"_id": client_id, "$or": [{"epoch": {"$exists": False}}, {"status": UNASSIGNED}]}, update,
                upsert=True)
        except DuplicateKeyError:
            return False
        return result.matched_count > 0 or result.upserted_id is not None

    async def update_profile(self, client_id: str, fields: dict[str, Any]) -> bool:
        """Refresh the matching fields of a known client; False when the client is not known yet."""
        result = await self.db[CLIENTS].update_one({"_id": client_id, "epoch": {"$exists": True}}, {"$set": fields})
        return result.matched_count > 0

    async def record_sale(self, client_id: str, sale_event_id: str, sold_at: datetime, amount: float) -> bool:
        """Count a sale once per sale event; True when it was new."""
        try:
            result = await self.db[CLIENTS].update_one(
                {"_id": client_id, "sale_ids": {"$ne": sale_event_id}},
                {"$inc": {"sales_count": 1, "revenue": amount}, "$set": {"has_sale": True},
                 "$min": {"first_sale_at": sold_at}, "$max": {"last_sale_at": sold_at, "activity_since": sold_at},
                 "$push": {"sale_ids": sale_event_id}},
                upsert=True)
        except DuplicateKeyError:
            return False
        return result.matched_count > 0 or result.upserted_id is not None

    async def record_activity(self, client_id: str, at: datetime) -> None:
        """Remember the client's latest activity."""
        await self.db[CLIENTS].update_one({"_id": client_id}, {"$max": {"last_activity_at": at}})

    async def compare_and_set(self, client_id: str, epoch: int, deferrals: int, update: dict[str, Any]) -> bool:
        """Apply an update only if the client is still at this assignment epoch and deferral count."""
        result = await self.db[CLIENTS].update_one(
            {"_id": client_id, "epoch": epoch, "deferrals": deferrals}, update)
        return result.modified_count > 0

    async def merge(self, survivor_id: str, merged_id: str, at: datetime) -> dict[str, Any] | None:
        """Close the merged record's ownership (the survivor keeps its owner); returns the merged record."""
        await self.db[CLIENTS].update_one(
            {"_id": merged_id, "status": {"$ne": MERGED}},
            {"$set": {"status": MERGED, "merged_into": survivor_id, "merged_at": at},
             "$rename": {"manager_id": "merged_from_manager_id"}})
        return await self.client(merged_id)

    async def put_once(self, collection: str, doc_id: str, doc: dict[str, Any]) -> None:
        """Insert a record with a deterministic id; a second write of the same id changes nothing."""
        await self.db[collection].update_one({"_id": doc_id}, {"$setOnInsert": doc}, upsert=True)

    async def due(self, as_of: datetime, rules: Rules, departed: Iterable[str]) -> AsyncIterator[dict[str, Any]]:
        """In one pass, owned clients past a threshold or held by a departed manager, and unassigned ones.

        Each branch of the $or is served by the `sweep` or `owner` index on MongoDB; FerretDB v1 scans, so
        one query means one scan instead of several.
        """
        departed_ids = sorted(set(departed))
        branches: list[dict[str, Any]] = [
            {"status": OWNED, "has_sale": False,
             "activity_since": {"$lt": as_of - timedelta(days=rules.no_first_sale_days)}},
            {"status": OWNED, "has_sale": True,
             "activity_since": {"$lt": as_of - timedelta(days=rules.no_repeat_sale_days)}},
            {"status": UNASSIGNED},
        ]
        if departed_ids:
            branches.append({"status": OWNED, "manager_id": {"$in": departed_ids}})
        async for doc in self.db[CLIENTS].find({"$or": branches}).sort([("activity_since", ASCENDING), ("_id", ASCENDING)]):
            yield doc

    async def unassigned(self, limit: int) -> list[dict[str, Any]]:
        """Unassigned clients, oldest registration first, at most `limit`."""
        return await self.db[CLIENTS].find({"status": UNASSIGNED}).sort(
            [("registered_at", ASCENDING), ("_id", ASCENDING)]).limit(limit).to_list()

    async def clients_of(self, manager_id: str) -> list[dict[str, Any]]:
        """Every client a manager owns, by id."""
        return await self.db[CLIENTS].find({"manager_id": manager_id, "status": OWNED}).sort(
            "_id", ASCENDING).to_list()

    async def emitted(self, marks: list[str]) -> set[str]:
        """Which of these inactivity marks were already published."""
        if not marks:
            return set()
        return {d["_id"] async for d in self.db[MARKS].find({"_id": {"$in": marks}}, {"_id": 1})}

    async def mark_emitted(self, marks: list[str], at: datetime) -> None:
        """Remember published inactivity marks; insert-only, so it stays cheap on FerretDB v1 as well."""
        if marks:
            try:
                await self.db[MARKS].insert_many([{"_id": m, "at": at} for m in marks], ordered=False)
            except BulkWriteError as error:
                if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                    raise

    async def close_handovers(self, client_id: str, manager_id: str, at: datetime, event_id: str) -> int:
        """Close the open or overdue handovers of this client by this manager with their report."""
        result = await self.db[HANDOVERS].update_many(
            {"client_id": client_id, "manager_id": manager_id, "status": {"$in": ["open", "overdue"]}},
            {"$set": {"status": "reported", "reported_at": at, "report_event_id": event_id}})
        return result.modified_count

    async def overdue_handovers(self, as_of: datetime) -> list[dict[str, Any]]:
        """Open handovers whose deadline passed."""
        return await self.db[HANDOVERS].find({"status": "open", "deadline": {"$lt": as_of}}).sort(
            [("deadline", ASCENDING), ("_id", ASCENDING)]).to_list()

    async def pending_handovers(self, limit: int) -> list[dict[str, Any]]:
        """Handovers still waiting for their report (open or escalated), earliest deadline first."""
        return await self.db[HANDOVERS].find({"status": {"$in": ["open", "overdue"]}}).sort(
            [("deadline", ASCENDING), ("_id", ASCENDING)]).limit(limit).to_list()

    async def names(self, client_ids: Iterable[str]) -> dict[str, str | None]:
        """The name rotation keeps for each of these clients (no contact details)."""
        ids = sorted(set(client_ids))
        if not ids:
            return {}
        return {d["_id"]: d.get("name") async for d in self.db[CLIENTS].find({"_id": {"$in": ids}}, {"name": 1})}

    async def mark_overdue(self, handover_id: str, at: datetime) -> None:
        """Mark an open handover as escalated."""
        await self.db[HANDOVERS].update_one({"_id": handover_id, "status": "open"},
                                            {"$set": {"status": "overdue", "escalated_at": at}})

    async def open_handover(self, client_id: str, epoch: int) -> dict[str, Any] | None:
        """The handover of a client's current assignment while it waits for its report (open or overdue)."""
        return await self.db[HANDOVERS].find_one({"_id": f"{client_id}:{epoch}", "status": {"$in": ["open", "overdue"]}})

    async def history(self, client_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A client's assignments by epoch and its deferred rotations."""
        assignments = await self.db[ASSIGNMENTS].find({"client_id": client_id}).sort("epoch", ASCENDING).to_list()
        deferrals = await self.db[DEFERRALS].find({"client_id": client_id}).sort("_id", ASCENDING).to_list()
        return assignments, deferrals
