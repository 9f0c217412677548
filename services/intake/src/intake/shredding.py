"""Crypto-shredding on erasure: destroy the data keys of clients and of every client merged into them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from clientbase.crypto.vault import KeyVault
from clientbase.mongo_reads import KeyedReads

from intake.repository import MAX_MERGE_CHAIN
from intake.store import FACTS


async def merged_into(db: AsyncDatabase[dict[str, Any]], reads: KeyedReads, client_ids: Iterable[str]) -> set[str]:
    """The clients and every client merged into them, directly or through others (one bulk read per level)."""
    found = set(client_ids)
    frontier = set(found)
    for _ in range(MAX_MERGE_CHAIN):
        if not frontier:
            break
        facts = await reads.by_field(db[FACTS], "client_id", frontier, projection={"kind": 1, "merged_client_id": 1})
        frontier = {str(f["merged_client_id"]) for f in facts if f.get("kind") == "merge"} - found
        found |= frontier
    return found


async def forget(vault: KeyVault, db: AsyncDatabase[dict[str, Any]], reads: KeyedReads,
                 client_ids: Iterable[str]) -> int:
    """Destroy the data keys of the clients and of those merged into them; return how many keys were destroyed."""
    return await vault.forget(await merged_into(db, reads, client_ids))
