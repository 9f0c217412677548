"""Bulk inserts that report which documents already existed, the one atomic write MongoDB and FerretDB share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


async def insert_new(collection: AsyncCollection[dict[str, Any]], documents: Sequence[dict[str, Any]]) -> set[Any]:
    """Insert documents in one unordered command; return the `_id`s that already existed (duplicates are not errors)."""
    if not documents:
        return set()
    try:
        await collection.insert_many(list(documents), ordered=False)
    except BulkWriteError as error:
        details = error.details.get("writeErrors", [])
        others = [e for e in details if e.get("code") != DUPLICATE_KEY]
        if others or error.details.get("writeConcernErrors"):
            raise
        return {documents[e["index"]]["_id"] for e in details}
    return set()
