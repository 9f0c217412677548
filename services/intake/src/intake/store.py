"""Where intake's repository reads and writes documents: straight to MongoDB, or through a batch overlay.

The repository's rules (claim by insert, follow merges, append numbered facts) are written once against
the small `Store` interface. `MongoStore` talks to the server, one command per call. `BatchStore` serves a
whole batch of leads from what was read in bulk beforehand, keeps its writes in memory, and flushes them
with one unordered bulk insert per collection; a write that meets a document another writer stored in the
meantime is reported as a conflict, and the leads that depended on it are redone against `MongoStore`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from clientbase.mongo_reads import KeyedReads
from clientbase.mongo_writes import insert_new

IDENTITIES = "identities"
FACTS = "client_facts"
REGISTRATIONS = "registrations"
MERGES = "merges"
QUARANTINE = "quarantine"
FLUSH_ORDER = (IDENTITIES, MERGES, FACTS, REGISTRATIONS, QUARANTINE)  # the order a single lead writes in


def fact_id(client_id: str, position: int) -> str:
    """The `_id` of a client's fact at a position of its list."""
    return f"{client_id}#{position:06d}"


class Store(Protocol):
    """The document operations intake's rules are written against."""

    async def insert_or_get(self, collection: str, document: dict[str, Any]) -> dict[str, Any]:
        """Insert a document unless one with its `_id` exists; return the stored one."""

    async def get(self, collection: str, _id: str) -> dict[str, Any] | None:
        """The document with this `_id`, or None."""

    async def insert(self, collection: str, document: dict[str, Any]) -> None:
        """Insert a document; raise DuplicateKeyError when its `_id` exists."""

    async def facts(self, client_id: str) -> list[dict[str, Any]]:
        """A client's own facts in list order."""

    async def merges_by(self, lead_event_id: str) -> list[dict[str, Any]]:
        """Merges a lead caused, by loser id."""


class MongoStore:
    """The store that reads and writes MongoDB directly."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], reads: KeyedReads | None = None) -> None:
        self.db = db
        self.reads = reads or KeyedReads()

    async def insert_or_get(self, collection: str, document: dict[str, Any]) -> dict[str, Any]:
        """Insert a document unless one with its `_id` exists; return the stored one."""
        try:
            await self.db[collection].insert_one(document)
            return document
        except DuplicateKeyError:
            found = await self.db[collection].find_one({"_id": document["_id"]})
            assert found is not None, "intake never deletes what it inserted this way"
            return found

    async def get(self, collection: str, _id: str) -> dict[str, Any] | None:
        """The document with this `_id`, or None."""
        return await self.db[collection].find_one({"_id": _id})

    async def insert(self, collection: str, document: dict[str, Any]) -> None:
        """Insert a document; raise DuplicateKeyError when its `_id` exists."""
        await self.db[collection].insert_one(document)

    async def facts(self, client_id: str) -> list[dict[str, Any]]:
        """A client's own facts in list order (one query on the indexed `client_id`)."""
        found = await self.db[FACTS].find({"client_id": client_id}).to_list()
        return sorted(found, key=lambda f: f["_id"])

    async def facts_of(self, client_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The facts of several clients, read in bulk."""
        by_client: dict[str, list[dict[str, Any]]] = {c: [] for c in client_ids}
        for fact in await self.reads.by_field(self.db[FACTS], "client_id", list(by_client)):
            by_client[fact["client_id"]].append(fact)
        return {c: sorted(f, key=lambda f: f["_id"]) for c, f in by_client.items()}

    async def merges_by(self, lead_event_id: str) -> list[dict[str, Any]]:
        """Merges a lead caused, by loser id."""
        return await self.db[MERGES].find({"lead_event_id": lead_event_id}).sort("_id", 1).to_list()


class BatchStore:
    """A store for one batch: serves reads from bulk-loaded documents, buffers writes, flushes them in bulk.

    A document can also be assumed to exist without a read (a registration of a client that has facts): the
    insert a lead would have attempted is sent at flush as a probe, and a probe that succeeds means the
    assumption was wrong, so the lead is redone.

    Only leads delivered for the first time go through it, so nothing a lead writes exists before (no merges
    by it, no fact of it). A read it was not given in advance falls through to MongoDB, so a miss costs a
    round trip, never a wrong answer; a write that collides at flush marks its group for a redo.
    """

    def __init__(self, base: MongoStore) -> None:
        self.base = base
        self.docs: dict[str, dict[str, dict[str, Any] | None]] = defaultdict(dict)
        self.fact_lists: dict[str, list[dict[str, Any]]] = {}
        self.pending: dict[str, list[tuple[dict[str, Any], int]]] = defaultdict(list)
        self.touched: dict[int, set[str]] = defaultdict(set)
        self.assumed: dict[str, set[str]] = defaultdict(set)
        self.probes: dict[str, list[tuple[dict[str, Any], int]]] = defaultdict(list)
        self.group = 0

    def load(self, collection: str, found: dict[str, dict[str, Any]], asked: Iterable[str]) -> None:
        """Remember what a bulk read found, and that the other asked ids did not exist then."""
        for _id in asked:
            self.docs[collection][_id] = found.get(_id)

    def load_facts(self, facts: dict[str, list[dict[str, Any]]]) -> None:
        """Remember clients' fact lists read in bulk."""
        self.fact_lists.update({c: list(f) for c, f in facts.items()})

    def knows_facts(self, client_id: str) -> bool:
        """Whether the fact list of a client is at hand."""
        return client_id in self.fact_lists

    def assume_existing(self, collection: str, ids: Iterable[str]) -> None:
        """Take documents as existing without reading them; the first insert attempt on each probes it at flush."""
        for _id in ids:
            self.docs[collection].setdefault(_id, {"_id": _id, "lead_event_id": None, "assumed": True})
            self.assumed[collection].add(_id)

    def assume_new(self, collection: str, _id: str) -> None:
        """Record that a document cannot exist yet (an id only this batch can have made)."""
        self.docs[collection].setdefault(_id, None)

    async def insert_or_get(self, collection: str, document: dict[str, Any]) -> dict[str, Any]:
        """Return the known document with this `_id`, or buffer this one as the new document."""
        stored = await self.get(collection, document["_id"])
        if stored is not None:
            if document["_id"] in self.assumed[collection]:
                self.assumed[collection].discard(document["_id"])
                self.probes[collection].append((document, self.group))
            return stored
        self._buffer(collection, document)
        return document

    async def get(self, collection: str, _id: str) -> dict[str, Any] | None:
        """The document from the batch's knowledge, else from MongoDB."""
        self.touched[self.group].add(_id)
        known = self.docs[collection]
        if _id not in known:
            known[_id] = await self.base.get(collection, _id)
        return known[_id]

    async def insert(self, collection: str, document: dict[str, Any]) -> None:
        """Buffer an insert, raising DuplicateKeyError when the batch already knows that `_id`."""
        if collection == FACTS:
            facts = await self.facts(document["client_id"])
            if any(f["_id"] == document["_id"] for f in facts):
                raise DuplicateKeyError(f"fact {document['_id']} exists")
            self.fact_lists[document["client_id"]].append(document)
            self.pending[FACTS].append((document, self.group))
            return
        if await self.get(collection, document["_id"]) is not None:
            raise DuplicateKeyError(f"{collection} {document['_id']} exists")
        self._buffer(collection, document)

    def _buffer(self, collection: str, document: dict[str, Any]) -> None:
        self.touched[self.group].add(document["_id"])
        self.docs[collection][document["_id"]] = document
        self.pending[collection].append((document, self.group))

    async def facts(self, client_id: str) -> list[dict[str, Any]]:
        """A client's facts, including the ones this batch added."""
        self.touched[self.group].add(client_id)
        if client_id not in self.fact_lists:
            self.fact_lists[client_id] = await self.base.facts(client_id)
        return list(self.fact_lists[client_id])

    async def merges_by(self, lead_event_id: str) -> list[dict[str, Any]]:
        """Merges the lead caused in this batch (a first delivery caused none before)."""
        return sorted((d for d, _ in self.pending[MERGES] if d["lead_event_id"] == lead_event_id),
                      key=lambda d: d["_id"])

    async def flush(self) -> set[int]:
        """Write the buffered documents, one unordered bulk insert per collection in lead order; return conflicted groups."""
        conflicted: set[int] = set()
        for collection in FLUSH_ORDER:
            entries = [(d, g) for d, g in self.pending.pop(collection, []) if g not in conflicted]
            probes = [(d, g) for d, g in self.probes.pop(collection, []) if g not in conflicted]
            existing = await insert_new(self.base.db[collection], [d for d, _ in entries + probes])
            conflicted |= {g for d, g in entries if d["_id"] in existing}
            conflicted |= {g for d, g in probes if d["_id"] not in existing}  # it did not exist: assumed wrong
        return conflicted
