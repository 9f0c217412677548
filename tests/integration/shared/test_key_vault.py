"""The key vault on the real server: keys issued once, read in bulk, destroyed for good with their merged clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clientbase.crypto.vault import DATA_KEYS, KeyVault
from clientbase.mongo_reads import KeyedReads, detect_strategy
from clientbase.testing.round_trips import Commands

from intake.shredding import forget
from intake.store import FACTS

pytestmark = pytest.mark.integration

SECRET = "vault-test-master-key"


@pytest.fixture
async def db(stack_endpoints: Any) -> AsyncIterator[Any]:
    """A fresh database on the real server."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url)
    name = f"test_keyvault_{uuid.uuid4().hex[:8]}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


def vault_on(db: Any, reads: KeyedReads, secret: str = SECRET, ttl: float = 300.0) -> KeyVault:
    """A vault over the test database's key collection."""
    return KeyVault(secret, lambda: db[DATA_KEYS], lambda: reads, cache_ttl_s=ttl)


async def test_keys_are_issued_once_stored_wrapped_and_shared_by_readers(db: Any) -> None:
    reads = KeyedReads(await detect_strategy(db))
    writers = [vault_on(db, reads) for _ in range(3)]
    issued = await asyncio.gather(*(w.issue(["cl-a", "cl-b"]) for w in writers))
    assert all(keys == issued[0] for keys in issued) and all(len(k) == 32 for k in issued[0].values())
    stored = await db[DATA_KEYS].find({}).to_list()
    assert sorted(d["_id"] for d in stored) == ["cl-a", "cl-b"]
    assert all(issued[0][d["_id"]] not in bytes(d["wrapped"]) for d in stored)
    reader = vault_on(db, reads)
    assert await reader.keys_for(["cl-a", "cl-b", "cl-unknown"]) == {**issued[0], "cl-unknown": None}
    assert await vault_on(db, reads, secret="another master key").keys_for(["cl-a"]) == {"cl-a": None}


async def test_forget_destroys_keys_for_every_reader_and_a_tombstone_blocks_new_ones(db: Any) -> None:
    reads = KeyedReads(await detect_strategy(db))
    writer, cached, fresh = vault_on(db, reads), vault_on(db, reads, ttl=0.0), vault_on(db, reads)
    await writer.issue(["cl-a", "cl-b"])
    assert (await cached.keys_for(["cl-a"]))["cl-a"] is not None
    assert await writer.forget(["cl-a", "cl-never-issued"]) == 1
    assert await writer.forget(["cl-a"]) == 0
    assert (await cached.keys_for(["cl-a"]))["cl-a"] is None
    assert (await fresh.issue(["cl-a", "cl-never-issued", "cl-b"]))["cl-b"] is not None
    assert await fresh.keys_for(["cl-a", "cl-never-issued"]) == {"cl-a": None, "cl-never-issued": None}
    tombstone = await db[DATA_KEYS].find_one({"_id": "cl-a"})
    assert "wrapped" not in tombstone and tombstone["forgotten_at"] is not None


async def test_forgetting_a_survivor_destroys_the_keys_of_the_clients_merged_into_it(db: Any) -> None:
    reads = KeyedReads(await detect_strategy(db))
    vault = vault_on(db, reads)
    await vault.issue(["cl-survivor", "cl-loser", "cl-loser-of-loser", "cl-other"])
    await db[FACTS].insert_many([
        {"_id": "cl-survivor#0", "client_id": "cl-survivor", "kind": "lead", "fragment": {}},
        {"_id": "cl-survivor#1", "client_id": "cl-survivor", "kind": "merge", "merged_client_id": "cl-loser"},
        {"_id": "cl-loser#0", "client_id": "cl-loser", "kind": "merge", "merged_client_id": "cl-loser-of-loser"},
        {"_id": "cl-other#0", "client_id": "cl-other", "kind": "lead", "fragment": {}},
    ])
    assert await forget(vault, db, reads, ["cl-survivor"]) == 3
    keys = await vault_on(db, reads).keys_for(["cl-survivor", "cl-loser", "cl-loser-of-loser", "cl-other"])
    assert [c for c, k in keys.items() if k is not None] == ["cl-other"]


async def test_new_clients_keys_cost_one_insert_and_only_clients_with_keys_are_read(stack_endpoints: Any) -> None:
    commands = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, event_listeners=[commands])
    db = client[f"test_keyvault_{uuid.uuid4().hex[:8]}"]
    try:
        reads = KeyedReads(await detect_strategy(db))
        before = await vault_on(db, reads).issue([f"cl-old-{i}" for i in range(3)])
        commands.names.clear()
        vault = vault_on(db, reads)  # a cold cache, as after a restart
        keys = await vault.issue([f"cl-new-{i}" for i in range(20)] + list(before))
        assert commands.names["insert"] == 1 and commands.names["find"] <= len(before), commands.names
        assert {c: keys[c] for c in before} == before and len({keys[f"cl-new-{i}"] for i in range(20)}) == 20
        commands.names.clear()
        assert await vault.issue(keys) == keys and not commands.names  # every key now cached: no round trip
    finally:
        await client.drop_database(db.name)
        await client.close()
