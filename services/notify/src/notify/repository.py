"""MongoDB collections and indexes the notify service owns, and their bulk reads and writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.erasure.hashing import KeyedHasher
from clientbase.mongo import IndexSpec
from clientbase.mongo_reads import KeyedReads
from clientbase.mongo_writes import bulk_update, guarded_updates, insert_new, update_chunk

CLIENTS = "clients"
MANAGERS = "managers"
CONSENTS = "consent_ledger"
SUPPRESSIONS = "suppressions"
REQUESTS = "requests"
SENDS = "marketing_sends"
DEDUPE = "dedupe_claims"
SEND_CLAIMS = "send_claims"

INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(CONSENTS, [("key", 1)], "consent_key"),
    IndexSpec(SUPPRESSIONS, [("key", 1)], "suppression_key"),
    IndexSpec(SENDS, [("counter", 1)], "send_counter"),
    IndexSpec(REQUESTS, [("status", 1), ("due_at", 1)], "request_due"),
    IndexSpec(MANAGERS, [("is_head", 1)], "manager_head"),
)

Doc = dict[str, Any]


class NotifyRepository:
    """Reads a batch's state in bulk and writes it back one command per collection."""

    def __init__(self, db: AsyncDatabase[Doc], reads: KeyedReads, hasher: KeyedHasher | None = None) -> None:
        self.db = db
        self.reads = reads
        self.hasher = hasher

    async def requests(self, ids: Iterable[str]) -> dict[str, Doc]:
        """Request documents by request id."""
        return await self.reads.by_ids(self.db[REQUESTS], ids)

    async def recipients(self, client_ids: Iterable[str],
                         manager_ids: Iterable[str]) -> tuple[dict[str, Doc], dict[str, Doc]]:
        """Client snapshots (merged ones followed to their survivor) and managers by id."""
        clients = await self.reads.by_ids(self.db[CLIENTS], client_ids)
        survivors = {d["merged_into"] for d in clients.values() if d.get("merged_into")} - set(clients)
        if survivors:
            clients.update(await self.reads.by_ids(self.db[CLIENTS], survivors))
        return clients, await self.reads.by_ids(self.db[MANAGERS], manager_ids)

    async def heads_of_sales(self) -> list[Doc]:
        """Every manager flagged as head of sales."""
        return await self.db[MANAGERS].find({"is_head": True}).to_list()

    async def ledger(self, keys: Iterable[str]) -> dict[str, list[Doc]]:
        """Consent history per address key."""
        found: dict[str, list[Doc]] = {}
        for doc in await self.reads.by_field(self.db[CONSENTS], "key", keys):
            found.setdefault(doc["key"], []).append(doc)
        return found

    async def suppressed(self, keys: Iterable[str]) -> set[str]:
        """The address keys on the suppression list, in plain or (for an erased client's address) as a keyed hash."""
        wanted = {k: k for k in keys}
        if self.hasher is not None and self.hasher.ready:
            wanted |= {self.hasher.hash(k): k for k in list(wanted)}
        return {wanted[d["key"]] for d in await self.reads.by_field(self.db[SUPPRESSIONS], "key", wanted, {"key": 1})}

    async def marketing_sends(self, counters: Iterable[str]) -> dict[str, list[datetime]]:
        """When marketing went out, per frequency counter."""
        found: dict[str, list[datetime]] = {}
        for doc in await self.reads.by_field(self.db[SENDS], "counter", counters, {"counter": 1, "at": 1}):
            found.setdefault(doc["counter"], []).append(doc["at"])
        return found

    async def dedupe_claims(self, ids: Iterable[str]) -> dict[str, Doc]:
        """Dedupe claims by id."""
        return await self.reads.by_ids(self.db[DEDUPE], ids)

    async def claim_dedupe(self, claims: Sequence[Doc]) -> set[str]:
        """Insert dedupe claims; return the ids another request held already."""
        return await insert_new(self.db[DEDUPE], claims)

    async def append_ledger(self, entries: Sequence[Doc]) -> set[str]:
        """Append consent evidence (deterministic ids, so a replay adds nothing)."""
        return await insert_new(self.db[CONSENTS], entries)

    async def suppress(self, entries: Sequence[Doc]) -> None:
        """Put addresses on the suppression list with their evidence."""
        await insert_new(self.db[SUPPRESSIONS], entries)

    async def record_sends(self, entries: Sequence[Doc]) -> None:
        """Count marketing messages against their frequency counters."""
        await insert_new(self.db[SENDS], entries)

    async def insert_requests(self, docs: Sequence[Doc]) -> set[str]:
        """Insert new request documents; return the ids that existed already."""
        return await insert_new(self.db[REQUESTS], docs)

    async def update_requests(self, updates: Sequence[tuple[Doc, Doc]]) -> None:
        """Apply guarded `$set`s to request documents, one command per chunk (a guard that fails changes nothing)."""
        if updates:
            await bulk_update(self.db[REQUESTS], [UpdateOne(f, {"$set": s}) for f, s in updates],
                              update_chunk(self.reads.strategy))

    async def claim_requests(self, claims: Sequence[tuple[Doc, Doc]]) -> set[int]:
        """Apply guarded `$set`s, a command per chunk; return the indexes whose guard lost (another replica's)."""
        return await guarded_updates(self.db[REQUESTS], [(f, {"$set": s}) for f, s in claims],
                                     chunk=update_chunk(self.reads.strategy))

    async def claim_sends(self, claims: Sequence[Doc]) -> set[str]:
        """Insert one send claim per request (a unique `_id`, atomic on every server); return the ids held already."""
        return await insert_new(self.db[SEND_CLAIMS], claims)

    async def update_request(self, guard: Doc, changes: Doc) -> bool:
        """One guarded `$set` on a request document; whether it matched."""
        result = await self.db[REQUESTS].update_one(guard, {"$set": changes})
        return result.matched_count == 1

    async def due(self, status: str, now: datetime, limit: int) -> list[Doc]:
        """Request documents in a status whose `due_at` has come."""
        cursor = self.db[REQUESTS].find({"status": status, "due_at": {"$lte": now}}).sort("due_at", 1).limit(limit)
        return await cursor.to_list()

    async def upsert_snapshots(self, collection: str, docs: Sequence[Doc]) -> None:
        """Store the latest client or manager snapshots (a partition delivers one id's events in order)."""
        if not docs:
            return
        ops = [UpdateOne({"_id": d["_id"]}, {"$set": d}, upsert=True) for d in docs]
        await bulk_update(self.db[collection], ops, update_chunk(self.reads.strategy))
