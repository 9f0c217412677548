"""Notify's eraser: contact points, consent evidence, message texts and template params of a client go.

The client's snapshot becomes an `erased` marker (a request for it then ends `suppressed`/`erased`); its
consent ledger entries are deleted, and an address whose latest decision was an opt-out, or that was on the
suppression list, stays suppressed under a keyed hash, so a new client with that address is never messaged
against its old opt-out. Delivery records keep their status and outcome (metrics counts them) without the
address, the rendered message or the params.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import DeleteOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.erasure.export import Collect
from clientbase.erasure.hashing import HashKeyMissing, KeyedHasher
from clientbase.erasure.kit import Report, count_touched
from clientbase.events.envelope import derived_event_id, utc_now
from clientbase.mongo_reads import KeyedReads

from notify.consent import address_key, fold
from notify.repository import CLIENTS, CONSENTS, REQUESTS, SENDS, SUPPRESSIONS

PROFILE = ("name", "phones", "emails", "locale", "language", "region", "country", "birthday", "birthday_md")
DELIVERY = {"params": {}, "fixed_address": None, "target": None, "message": None}

Doc = dict[str, Any]


def address_keys(client: Doc) -> dict[str, str]:
    """The ledger keys of a client snapshot's contact points, with their channel."""
    keys = {address_key("sms", p["e164"]): "sms" for p in client.get("phones", [])}
    keys |= {address_key("email", e): "email" for e in client.get("emails", [])}
    return keys


class NotifyEraser:
    """Erases clients from notify's collections with a fixed number of round trips per batch."""

    def __init__(self, db: AsyncDatabase[Doc], reads: KeyedReads, hasher: KeyedHasher) -> None:
        self.db, self.reads, self.hasher = db, reads, hasher

    async def erase(self, client_ids: Sequence[str]) -> Report:
        """Erase the clients; report the documents touched per client."""
        if not self.hasher.ready:
            raise HashKeyMissing("PRIVACY_HASH_KEY is not set: nothing was erased")
        report: Report = {c: {} for c in client_ids}
        clients = await self.reads.by_ids(self.db[CLIENTS], client_ids)
        keys = {k: (c, channel) for c, doc in clients.items() for k, channel in address_keys(doc).items()}
        await self._ledger(keys, report)
        await self._counters(keys, report)  # the snapshot goes last: it is where a retry finds the addresses
        await self._requests(clients, client_ids, report)
        now = utc_now()
        await self.db[CLIENTS].bulk_write([UpdateOne({"_id": c}, {
            "$unset": {f: "" for f in PROFILE}, "$set": {"snapshot": True, "erased": True, "erased_at": now}},
            upsert=True) for c in client_ids], ordered=False)
        for c in client_ids:
            count_touched(report, c, CLIENTS)
        return {c: counts for c, counts in report.items() if counts}

    async def _requests(self, clients: dict[str, Doc], client_ids: Sequence[str], report: Report) -> None:
        """Requests to the clients, and older alerts with their names in the params, lose params, address and
        message; managers' alerts about them lose the message that named them (one not sent yet goes unnamed)."""
        mine = await self.reads.by_field(self.db[REQUESTS], "client_id", client_ids, {"client_id": 1})
        owner = {r["_id"]: r["client_id"] for r in mine}
        named = {d["name"]: c for c, d in clients.items() if d.get("name")}
        alerts = await self.reads.by_field(self.db[REQUESTS], "params.client_name", named, {"params.client_name": 1})
        owner |= {a["_id"]: named[a["params"]["client_name"]] for a in alerts if a["_id"] not in owner}
        about = await self.reads.by_field(self.db[REQUESTS], "subject_client_id", client_ids, {"subject_client_id": 1})
        subject = {a["_id"]: a["subject_client_id"] for a in about if a["_id"] not in owner}
        ops = [UpdateOne({"_id": r}, {"$set": DELIVERY}) for r in owner]
        ops += [UpdateOne({"_id": r}, {"$set": {"message": None}}) for r in subject]
        if ops:
            await self.db[REQUESTS].bulk_write(ops, ordered=False)
        for client_id in [*owner.values(), *subject.values()]:
            count_touched(report, client_id, REQUESTS)

    async def _ledger(self, keys: dict[str, tuple[str, str]], report: Report) -> None:
        """Delete the consent evidence and suppressions of the addresses; keep opt-outs as keyed-hash suppressions."""
        if not keys:
            return
        ledger: dict[str, list[Doc]] = {}
        for entry in await self.reads.by_field(self.db[CONSENTS], "key", keys):
            ledger.setdefault(entry["key"], []).append(entry)
        listed = await self.reads.by_field(self.db[SUPPRESSIONS], "key", keys)
        blocked = {k for k, entries in ledger.items() if fold(entries) == "opted_out"} | {d["key"] for d in listed}
        now = utc_now()
        hashed = [{"_id": derived_event_id("suppression", h, "erasure"), "key": h, "channel": keys[k][1],
                   "source": "erasure", "detail": "opted_out_before_erasure", "at": now}
                  for k in sorted(blocked) if (h := self.hasher.hash(k))]
        if hashed:
            await self.db[SUPPRESSIONS].bulk_write([UpdateOne({"_id": h["_id"]}, {"$setOnInsert": h}, upsert=True)
                                                    for h in hashed], ordered=False)
        gone = [*((CONSENTS, e) for entries in ledger.values() for e in entries), *((SUPPRESSIONS, d) for d in listed)]
        for collection in (CONSENTS, SUPPRESSIONS):
            ops = [DeleteOne({"_id": d["_id"]}) for name, d in gone if name == collection]
            if ops:
                await self.db[collection].bulk_write(ops, ordered=False)
        for name, doc in gone:
            count_touched(report, keys[doc["key"]][0], name)

    async def _counters(self, keys: dict[str, tuple[str, str]], report: Report) -> None:
        """Frequency counters named by an address get its keyed hash instead."""
        sends = await self.reads.by_field(self.db[SENDS], "counter", keys, {"counter": 1}) if keys else []
        if sends:
            await self.db[SENDS].bulk_write([UpdateOne({"_id": s["_id"]}, {"$set": {
                "counter": self.hasher.hash(s["counter"])}}) for s in sends], ordered=False)
        for s in sends:
            count_touched(report, keys[s["counter"]][0], SENDS)

    def collector(self) -> Collect:
        """What notify holds about a client, for its export."""
        async def collect(client_id: str) -> dict[str, list[Doc]]:
            client = await self.db[CLIENTS].find_one({"_id": client_id})
            keys = list(address_keys(client or {}))
            return {CLIENTS: [client] if client else [],
                    REQUESTS: await self.db[REQUESTS].find({"client_id": client_id}).to_list(),
                    CONSENTS: await self.reads.by_field(self.db[CONSENTS], "key", keys) if keys else [],
                    SUPPRESSIONS: await self.reads.by_field(self.db[SUPPRESSIONS], "key", keys) if keys else []}
        return collect

