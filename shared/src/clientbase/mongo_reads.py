"""Bulk reads by key that are fast on both servers: `$in` on MongoDB, concurrent point lookups on FerretDB v1."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

ReadStrategy = Literal["auto", "in", "point"]
POINT_LOOKUP_CONCURRENCY = 32
IN_CHUNK = 1000


async def detect_strategy(db: AsyncDatabase[dict[str, Any]], configured: ReadStrategy = "auto") -> ReadStrategy:
    """The read strategy for this server: point lookups on FerretDB v1 (it never pushes `$in` down), else `$in`."""
    if configured != "auto":
        return configured
    info = await db.client.admin.command("buildInfo")
    return "point" if "ferretdbVersion" in info else "in"


class KeyedReads:
    """Reads many documents by the values of one field with the strategy that serves on the server at hand."""

    def __init__(self, strategy: ReadStrategy = "in", concurrency: int = POINT_LOOKUP_CONCURRENCY) -> None:
        self.strategy = "in" if strategy == "auto" else strategy
        self._limit = asyncio.Semaphore(concurrency)

    async def by_ids(self, collection: AsyncCollection[dict[str, Any]], ids: Iterable[Any],
                     projection: Mapping[str, Any] | None = None) -> dict[Any, dict[str, Any]]:
        """The documents whose `_id` is among `ids`, keyed by `_id`; missing ones are absent."""
        found = await self.by_field(collection, "_id", ids, projection)
        return {doc["_id"]: doc for doc in found}

    async def by_field(self, collection: AsyncCollection[dict[str, Any]], field: str, values: Iterable[Any],
                       projection: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every document whose `field` equals one of `values`, in no particular order."""
        wanted = list(dict.fromkeys(values))
        if not wanted:
            return []
        if self.strategy == "in":
            chunks = [wanted[i:i + IN_CHUNK] for i in range(0, len(wanted), IN_CHUNK)]
            results = await asyncio.gather(*(
                collection.find({field: {"$in": chunk}}, projection=projection).to_list() for chunk in chunks))
        else:
            results = await asyncio.gather(*(self._point(collection, field, value, projection) for value in wanted))
        return [doc for part in results for doc in part]

    async def _point(self, collection: AsyncCollection[dict[str, Any]], field: str, value: Any,
                     projection: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        """One equality lookup, the query FerretDB serves from an index."""
        async with self._limit:
            if field == "_id":
                doc = await collection.find_one({"_id": value}, projection=projection)
                return [doc] if doc is not None else []
            return await collection.find({field: value}, projection=projection).to_list()
