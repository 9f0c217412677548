"""MongoDB-backed bookkeeping for consumers: processed event ids and failed delivery attempts."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from pymongo.asynchronous.collection import AsyncCollection

from clientbase.events.envelope import utc_now
from clientbase.mongo import IndexSpec

PROCESSED_COLLECTION = "processed_events"
ATTEMPTS_COLLECTION = "consumer_attempts"

CONSUMER_INDEXES = (
    IndexSpec(PROCESSED_COLLECTION, [("processed_at", 1)], name="processed_at"),
)


class ProcessedEvents:
    """Remembers which event ids a consumer has fully handled, so a redelivery is skipped."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    async def seen(self, key: str) -> bool:
        """Whether the event with this consumer-scoped key was already handled."""
        return await self._collection.find_one({"_id": key}, projection={"_id": 1}) is not None

    async def mark(self, key: str) -> None:
        """Record that the event was handled; marking twice is harmless.

        A plain insert, because the unique `_id` index answers a duplicate at once on MongoDB and FerretDB
        alike, where an upsert would first search for the document.
        """
        try:
            await self._collection.insert_one({"_id": key, "processed_at": utc_now()})
        except DuplicateKeyError:
            pass


class DeliveryAttempts:
    """Counts failed deliveries per Kafka record across restarts and replicas."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    async def record_failure(self, key: str, error: str) -> int:
        """Add one failed attempt for the record and return how many there have been."""
        document = await self._collection.find_one_and_update(
            {"_id": key},
            {"$inc": {"attempts": 1}, "$set": {"last_error": error, "last_failed_at": utc_now()}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(document["attempts"])

    async def clear(self, key: str) -> None:
        """Forget the record's failures once it is handled or dead-lettered."""
        await self._collection.delete_one({"_id": key})
