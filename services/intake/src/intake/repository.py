"""MongoDB collections and indexes the intake service owns: identities, client facts, merges and quarantine.

Every write that decides something is an insert with a deterministic `_id` (claim an identity, register a
client, merge a client, add a lead's facts), because a unique `_id` insert is the one operation MongoDB 8
and FerretDB v1 both make atomic; FerretDB v1 loses concurrent updates of one document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from clientbase.events.envelope import utc_now
from clientbase.mongo import IndexSpec
from clientbase.mongo_reads import KeyedReads

from intake.domain import Reason
from intake.identity import KnownClient
from intake.store import FACTS, IDENTITIES, MERGES, QUARANTINE, REGISTRATIONS, MongoStore, Store, fact_id

MAX_MERGE_CHAIN = 50
MAX_APPEND_ATTEMPTS = 50

__all__ = ["FACTS", "IDENTITIES", "INDEXES", "IntakeRepository", "MERGES", "QUARANTINE", "REGISTRATIONS", "fact_id"]

INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec(QUARANTINE, [("status", 1), ("quarantined_at", 1)], name="quarantine_by_status"),
    IndexSpec(FACTS, [("client_id", 1)], name="facts_by_client"),
    IndexSpec(MERGES, [("lead_event_id", 1)], name="merges_by_lead"),
)


def reasons_doc(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    """Rejection reasons as stored."""
    return [{"code": r.code, "field": r.field, "message": r.message} for r in reasons]


class IntakeRepository:
    """Intake's rules over its collections; decisions are inserts, never read-then-write."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], store: Store | None = None,
                 reads: KeyedReads | None = None) -> None:
        self.db = db
        self.mongo = MongoStore(db, reads)
        self.store: Store = store or self.mongo
        self._quarantine = db[QUARANTINE]

    def over(self, store: Store) -> IntakeRepository:
        """The same rules over another store (a batch overlay)."""
        return IntakeRepository(self.db, store, self.mongo.reads)

    async def claim(self, key: str, client_id: str, lead_event_id: str) -> str:
        """Claim an identity key for a client; return whichever client owns it now."""
        stored = await self.store.insert_or_get(IDENTITIES, {
            "_id": key, "client_id": client_id, "lead_event_id": lead_event_id, "claimed_at": utc_now()})
        return str(stored["client_id"])

    async def owner_of(self, key: str) -> str | None:
        """The client that owns an identity key, following merges, or None."""
        found = await self.store.get(IDENTITIES, key)
        return await self.resolve(str(found["client_id"])) if found else None

    async def resolve(self, client_id: str) -> str:
        """Follow merges to the client that survived (survivor ids always sort lower, so there is no cycle)."""
        current = client_id
        for _ in range(MAX_MERGE_CHAIN):
            merge = await self.store.get(MERGES, current)
            if merge is None:
                return current
            current = str(merge["survivor"])
        return current

    async def facts(self, client_id: str) -> list[dict[str, Any]]:
        """A client's own facts, in the order they were added."""
        return await self.store.facts(client_id)

    async def _append_fact(self, client_id: str, fact: dict[str, Any], same: Any,
                           existing: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Append a fact to a client's numbered list unless an equal one is there; return the list after.

        Racing appenders take turns: the loser of an `_id` collision re-reads and tries the next position.
        `existing` saves the first read when the caller already knows the list (e.g. empty for a new client).
        """
        for _ in range(MAX_APPEND_ATTEMPTS):
            if existing is None:
                existing = await self.facts(client_id)
            if any(same(f) for f in existing):
                return existing
            position = 1 + max((int(f["_id"].rsplit("#", 1)[1]) for f in existing), default=-1)
            document = {"_id": fact_id(client_id, position), "client_id": client_id, "stored_at": utc_now(),
                        **fact}
            try:
                await self.store.insert(FACTS, document)
                return [*existing, document]
            except DuplicateKeyError:
                existing = None
        raise RuntimeError(f"appending a fact to {client_id} kept colliding")

    async def expand(self, facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The lead fragments in a list of facts, following merged clients to theirs."""
        fragments: list[dict[str, Any]] = []
        pending, seen = [facts], set()
        while pending:
            for fact in pending.pop():
                if fact["kind"] == "lead":
                    fragments.append(fact["fragment"])
                elif fact["kind"] == "merge" and fact["merged_client_id"] not in seen:
                    seen.add(fact["merged_client_id"])
                    pending.append(await self.facts(fact["merged_client_id"]))
        return fragments

    async def fragments(self, client_id: str) -> list[dict[str, Any]]:
        """Every lead fragment of a client and of the clients merged into it, directly or through others."""
        return await self.expand(await self.facts(client_id))

    async def known(self, client_ids: Iterable[str]) -> dict[str, KnownClient]:
        """What the matching rule needs about each client that has facts."""
        result: dict[str, KnownClient] = {}
        for client_id in sorted(set(client_ids)):
            fragments = await self.fragments(client_id)
            if fragments:
                keys = frozenset(n["key"] for f in fragments for n in f.get("names", {}).values())
                result[client_id] = KnownClient(client_id, keys)
        return result

    async def add_fragment(self, client_id: str, lead_event_id: str, fragment: Mapping[str, Any],
                           existing: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Store what one lead says about a client (storing it twice is harmless); return the client's facts."""
        return await self._append_fact(
            client_id, {"kind": "lead", "lead_event_id": lead_event_id, "fragment": dict(fragment)},
            lambda f: f["kind"] == "lead" and f["lead_event_id"] == lead_event_id, existing)

    async def add_merged_client(self, survivor: str, loser: str, lead_event_id: str) -> None:
        """Make the loser's facts part of the survivor's record; adding it twice is harmless."""
        await self._append_fact(survivor, {"kind": "merge", "merged_client_id": loser, "lead_event_id": lead_event_id},
                                lambda f: f["kind"] == "merge" and f["merged_client_id"] == loser)

    async def mark_merged(self, loser: str, survivor: str, lead_event_id: str) -> None:
        """Append to the loser's own facts that it merged into the survivor; marking twice is harmless.

        The marker takes the loser's next fact position, so a writer that appends to the loser after reading
        its facts before the merge collides with it and redoes its lead against the merged record.
        """
        await self._append_fact(loser, {"kind": "merged_into", "survivor": survivor, "lead_event_id": lead_event_id},
                                lambda f: f["kind"] == "merged_into")

    async def register(self, client_id: str, lead_event_id: str) -> str:
        """Record which lead created a client; return that lead's id (the first one to get here wins)."""
        stored = await self.store.insert_or_get(REGISTRATIONS, {
            "_id": client_id, "lead_event_id": lead_event_id, "registered_at": utc_now()})
        return str(stored["lead_event_id"])

    async def is_registered(self, client_id: str) -> bool:
        """Whether a client was ever registered."""
        return await self.store.get(REGISTRATIONS, client_id) is not None

    async def merge(self, loser: str, survivor: str, lead_event_id: str) -> str:
        """Record that the loser merged into the survivor; return the survivor it actually merged into."""
        stored = await self.store.insert_or_get(MERGES, {
            "_id": loser, "survivor": survivor, "lead_event_id": lead_event_id, "merged_at": utc_now()})
        return str(stored["survivor"])

    async def merges_by(self, lead_event_id: str) -> list[dict[str, Any]]:
        """Merges a lead caused, for republishing their events on redelivery."""
        return await self.store.merges_by(lead_event_id)

    def quarantine_document(self, quarantine_id: str, *, topic: str, raw: bytes, reasons: list[Reason],
                            lead_event_id: str | None) -> dict[str, Any]:
        """The quarantine document that keeps a rejected input's raw bytes and reasons."""
        return {"_id": quarantine_id, "topic": topic, "raw": raw, "lead_event_id": lead_event_id,
                "status": "quarantined", "quarantined_at": utc_now(), "replays": 0, "reasons": reasons_doc(reasons)}

    async def quarantine(
        self, quarantine_id: str, *, topic: str, raw: bytes, reasons: list[Reason], lead_event_id: str | None
    ) -> None:
        """Keep the raw bytes of a rejected input; quarantining the same bytes twice is harmless."""
        await self.mongo.insert_or_get(QUARANTINE, self.quarantine_document(
            quarantine_id, topic=topic, raw=raw, reasons=reasons, lead_event_id=lead_event_id))

    async def quarantined(self, topic: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Items still waiting in quarantine, oldest first."""
        query: dict[str, Any] = {"status": "quarantined"}
        if topic:
            query["topic"] = topic
        return await self._quarantine.find(query).sort([("quarantined_at", 1), ("_id", 1)]).limit(limit).to_list()

    async def record_replay(self, quarantine_id: str, *, released: bool, reasons: Iterable[Reason] = ()) -> None:
        """Record the outcome of one replay: released items leave quarantine, others keep their new reasons."""
        changes: dict[str, Any] = {"last_replay_at": utc_now()}
        if released:
            changes["status"] = "released"
        else:
            changes["last_reasons"] = reasons_doc(reasons)
        await self._quarantine.update_one({"_id": quarantine_id}, {"$set": changes, "$inc": {"replays": 1}})
