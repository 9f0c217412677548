"""The key vault: one wrapped data key per client, read in bulk with a cache, destroyed on erasure.

Like MongoDB's client-side field level encryption key vault, it is one collection: intake creates the keys and
destroys them, rotation and notify only read them. Each key is stored wrapped (AES-GCM) under the master key
from configuration, so a copy of the collection alone opens nothing. Forgetting a client replaces its key with
a tombstone; the tombstone also stops a late redelivery from issuing a new key for that client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from pymongo.asynchronous.collection import AsyncCollection

from clientbase.crypto.sealing import master_key_from, new_data_key, seal, unseal
from clientbase.events.envelope import utc_now
from clientbase.mongo_reads import KeyedReads
from clientbase.mongo_writes import insert_new

log = structlog.get_logger(__name__)

DATA_KEYS = "data_keys"
MAX_CACHED = 100_000

Collection = AsyncCollection[dict[str, Any]]


class KeyVault:
    """Per-client data keys: `keys_for` reads (cached), `issue` gets or creates, `forget` destroys."""

    def __init__(self, master_secret: str | None, collection: Callable[[], Collection],
                 reads: Callable[[], KeyedReads] = KeyedReads, *, cache_ttl_s: float = 300.0) -> None:
        self._secret = master_secret
        self._master_key: bytes | None = None
        self._collection, self._reads = collection, reads
        self._ttl = cache_ttl_s
        self._cache: dict[str, tuple[float, bytes | None]] = {}

    @property
    def _master(self) -> bytes:
        """The key-encryption key; refuses to work without a configured master secret."""
        if self._master_key is None:
            self.require()
            self._master_key = master_key_from(str(self._secret))
        return self._master_key

    def require(self) -> None:
        """Raise unless a master secret is configured (services call it at startup, so they fail loudly)."""
        if not self._secret:
            raise RuntimeError("KEYVAULT_MASTER_KEY is not set: personal fields can be neither sealed nor read")

    def _unwrap(self, doc: dict[str, Any]) -> bytes | None:
        """The data key of a vault document; None for a tombstone or a key wrapped under another master key."""
        wrapped = doc.get("wrapped")
        return unseal(self._master, bytes(wrapped), str(doc["_id"]).encode()) if wrapped is not None else None

    def _remember(self, keys: dict[str, bytes | None]) -> None:
        """Cache looked-up keys (tombstones too) until the time to live passes."""
        if len(self._cache) + len(keys) > MAX_CACHED:
            self._cache.clear()
        expires = time.monotonic() + self._ttl
        self._cache.update({client_id: (expires, key) for client_id, key in keys.items()})

    async def keys_for(self, client_ids: Iterable[str]) -> dict[str, bytes | None]:
        """The data key of each client (None when forgotten or never issued), with one bulk read for cache misses."""
        wanted = set(client_ids)
        now = time.monotonic()
        found = {c: hit[1] for c in wanted if (hit := self._cache.get(c)) is not None and hit[0] > now}
        missing = wanted - set(found)
        if missing:
            docs = await self._reads().by_ids(self._collection(), missing)
            read = {str(c): self._unwrap(doc) for c, doc in docs.items()}
            self._remember(read)
            found.update(read)
        return {c: found.get(c) for c in wanted}

    async def issue(self, client_ids: Iterable[str]) -> dict[str, bytes | None]:
        """Each client's data key, created for clients that have none; None for a forgotten client.

        A client missing from the cache is most often new, so its key is created first and only the clients that
        already had a key (or a tombstone) are read: one insert per batch, and a read only for those.
        """
        wanted = set(client_ids)
        now = time.monotonic()
        keys = {c: hit[1] for c in wanted if (hit := self._cache.get(c)) is not None and hit[0] > now}
        fresh = {c: new_data_key() for c in wanted - set(keys)}
        if not fresh:
            return keys
        existing = await insert_new(self._collection(), [
            {"_id": c, "wrapped": seal(self._master, key, c.encode()), "created_at": utc_now()}
            for c, key in fresh.items()])
        if existing:  # issued before (or concurrently by another writer), or forgotten: read what is there
            keys.update(await self.keys_for(existing))
        created = {c: k for c, k in fresh.items() if c not in existing}
        self._remember(created)
        keys.update(created)
        return keys

    def evict(self, client_ids: Iterable[str]) -> None:
        """Treat the clients' keys as destroyed in this process at once (its erasure handler calls it)."""
        for client_id in client_ids:
            self._cache[client_id] = (float("inf"), None)

    async def forget(self, client_ids: Iterable[str]) -> int:
        """Destroy the clients' data keys for good, leaving tombstones; return how many keys were destroyed."""
        ids = sorted(set(client_ids))
        if not ids:
            return 0
        now = utc_now()
        await insert_new(self._collection(), [{"_id": c, "forgotten_at": now} for c in ids])
        result = await self._collection().update_many(
            {"_id": {"$in": ids}, "wrapped": {"$exists": True}},
            {"$unset": {"wrapped": "", "created_at": ""}, "$set": {"forgotten_at": now}})
        self.evict(ids)
        log.info("keyvault.keys_destroyed", clients=len(ids), destroyed=result.modified_count)
        return result.modified_count
