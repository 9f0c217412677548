"""MongoDB client factory and index bootstrap, limited to what MongoDB 8 and FerretDB v1 both support."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.settings import MongoSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IndexSpec:
    """One index a service needs on one of its collections."""

    collection: str
    keys: Sequence[tuple[str, int]]
    name: str
    unique: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_model(self) -> IndexModel:
        """The pymongo model of this index."""
        return IndexModel(list(self.keys), name=self.name, unique=self.unique, **self.options)


def create_mongo_client(settings: MongoSettings, app_name: str) -> AsyncMongoClient[dict[str, Any]]:
    """An `AsyncMongoClient` for one service; it connects lazily, on first use."""
    return AsyncMongoClient(
        settings.url.get_secret_value(),
        appname=app_name,
        serverSelectionTimeoutMS=settings.server_selection_timeout_ms,
        tz_aware=True,
        maxPoolSize=settings.max_pool_size,
    )


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]], specs: Iterable[IndexSpec]) -> None:
    """Create every index a service needs, one command per index; creating an existing index is a no-op.

    One index per command because FerretDB v1 drops the connection when a single createIndexes command
    names two or more indexes that already exist.
    """
    for spec in specs:
        await db[spec.collection].create_indexes([spec.to_model()])
        log.debug("mongo.index_ensured", collection=spec.collection, index=spec.name)


async def ping(client: AsyncMongoClient[dict[str, Any]]) -> bool:
    """Whether the server answers a ping."""
    try:
        await client.admin.command("ping")
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False
    return True
