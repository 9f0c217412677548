"""MongoDB collections and indexes the metrics service owns: generations of facts and rollups, and the pointer."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from clientbase.mongo import IndexSpec
from clientbase.mongo_writes import insert_new

from metrics.facts import FACT_COLLECTIONS

POINTER = "generation"
CHANGES = "changes"
POINTER_ID = "pointer"
ROLLUPS = ("retention", "managers", "sources")
INDEXES: tuple[IndexSpec, ...] = ()


def collection_name(generation: int, name: str) -> str:
    """The name of a collection of a generation, e.g. `g1_sales` or `g2_retention`."""
    return f"g{generation}_{name}"


class MetricsRepository:
    """Reads and writes of facts and rollups, always naming the generation they belong to."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    async def pointer(self) -> dict[str, Any]:
        """The pointer document: the `active` generation readers use and the one a rebuild is `building`, if any."""
        doc = await self.db[POINTER].find_one({"_id": POINTER_ID})
        if doc is not None:
            return doc
        try:
            await self.db[POINTER].insert_one({"_id": POINTER_ID, "active": 1, "building": None})
        except DuplicateKeyError:
            pass
        return await self.db[POINTER].find_one({"_id": POINTER_ID}) or {"active": 1, "building": None}

    async def writable_generations(self) -> list[int]:
        """The generations new facts go to: the active one and the one being rebuilt."""
        pointer = await self.pointer()
        return [g for g in (pointer["active"], pointer.get("building")) if g is not None]

    async def start_building(self) -> tuple[int, int]:
        """Claim the next generation for a rebuild; return (active, building)."""
        pointer = await self.pointer()
        if pointer.get("building") is not None:
            return pointer["active"], pointer["building"]
        building = max(pointer["active"], pointer.get("last_built") or 0) + 1
        updated = await self.db[POINTER].find_one_and_update(
            {"_id": POINTER_ID, "active": pointer["active"], "building": None},
            {"$set": {"building": building, "last_built": building}}, return_document=ReturnDocument.AFTER)
        if updated is None:
            raise RuntimeError("the generation pointer changed while a rebuild started; try again")
        return pointer["active"], building

    async def switch_to(self, active: int, building: int) -> bool:
        """Make the rebuilt generation the active one in one single-document update."""
        result = await self.db[POINTER].update_one(
            {"_id": POINTER_ID, "active": active, "building": building},
            {"$set": {"active": building, "building": None, "previous": active}})
        return result.modified_count == 1

    async def add_facts(self, generations: Sequence[int], facts: Mapping[str, Sequence[dict[str, Any]]]) -> None:
        """Insert fact documents into every writable generation, stamped `ingested`; existing facts stay as they are."""
        now = datetime.now(UTC)
        await asyncio.gather(*(insert_new(self.db[collection_name(generation, name)],
                                          [{**doc, "ingested": now} for doc in docs])
                               for generation in generations for name, docs in facts.items()))

    async def mark_changed(self, writer: str, facts: int) -> None:
        """Tell readers that this writer (one process, the only writer of its marker) added facts."""
        await self.db[CHANGES].update_one({"_id": writer}, {"$inc": {"batches": 1, "facts": facts},
                                                            "$set": {"at": datetime.now(UTC)}}, upsert=True)

    async def change_marker(self) -> tuple[tuple[str, int], ...]:
        """A value that changes whenever any writer has added facts."""
        docs = await self.db[CHANGES].find({}, {"batches": 1}).to_list(None)
        return tuple(sorted((str(doc["_id"]), int(doc.get("batches", 0))) for doc in docs))

    async def facts_since(self, generation: int, since: datetime) -> dict[str, list[dict[str, Any]]]:
        """The fact documents of a generation ingested at or after an instant, per collection."""
        loaded = await asyncio.gather(*(self.db[collection_name(generation, name)].find(
            {"ingested": {"$gte": since}}).to_list(None) for name in FACT_COLLECTIONS))
        return dict(zip(FACT_COLLECTIONS, loaded))

    async def basis(self, generation: int) -> int:
        """How many facts a generation holds; it only grows, so it versions everything computed from them."""
        counts = await asyncio.gather(*(self.db[collection_name(generation, name)].count_documents({})
                                        for name in FACT_COLLECTIONS))
        return sum(counts)

    async def load_facts(self, generation: int) -> dict[str, list[dict[str, Any]]]:
        """Every fact document of a generation, per collection."""
        loaded = await asyncio.gather(*(self.db[collection_name(generation, name)].find({}).to_list(None)
                                        for name in FACT_COLLECTIONS))
        return dict(zip(FACT_COLLECTIONS, loaded))

    async def write_rollups(self, generation: int, basis: int, rollups: Mapping[str, Sequence[dict[str, Any]]]) -> bool:
        """Insert a new version of the rollups (version = basis), point readers to it, delete older versions.

        Only inserts, deletes and an update of a small pointer document: no update of a rollup document, so a
        slower writer holding fewer facts can never overwrite a newer version.
        """
        for name, docs in rollups.items():
            await insert_new(self.db[collection_name(generation, name)],
                             [{**doc, "_id": f"{basis}:{doc['_id']}", "key": doc["_id"], "version": basis}
                              for doc in docs])
        pointer_id = f"rollups:{generation}"
        try:
            await self.db[POINTER].insert_one({"_id": pointer_id, "version": basis})
            moved = True
        except DuplicateKeyError:
            result = await self.db[POINTER].update_one({"_id": pointer_id, "version": {"$lt": basis}},
                                                       {"$set": {"version": basis}})
            moved = result.matched_count == 1
        current = await self.rollup_version(generation)
        for name in ROLLUPS:
            await self.db[collection_name(generation, name)].delete_many({"version": {"$lt": current}})
        return moved

    async def rollup_version(self, generation: int) -> int:
        """The version of a generation's rollups readers should use (0 before the first)."""
        doc = await self.db[POINTER].find_one({"_id": f"rollups:{generation}"})
        return int(doc["version"]) if doc else 0

    async def drop_generation(self, generation: int) -> None:
        """Drop every collection of a generation that is neither active nor being built."""
        pointer = await self.pointer()
        if generation in (pointer["active"], pointer.get("building")):
            raise ValueError(f"generation {generation} is in use")
        for name in (*FACT_COLLECTIONS, *ROLLUPS):
            await self.db.drop_collection(collection_name(generation, name))
