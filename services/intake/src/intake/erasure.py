"""Intake's eraser: a client's lead history, identity claims and quarantined raw bytes lose their personal data.

Identity claims become keyed hashes, so the same phone or email coming back finds no owner and makes a new
client; the facts keep only what counting needs (when, which lead, person or company); quarantined inputs
that mention the client's phones or emails lose their raw bytes. The per-client keys of encrypted event
fields are forgotten through `ClientKeys`, so what the topics keep of the client becomes unreadable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from pymongo import DeleteOne, UpdateOne

from clientbase.erasure.hashing import HashKeyMissing, KeyedHasher
from clientbase.erasure.kit import Report, count_touched
from clientbase.events.envelope import utc_now

from intake.domain import email_key, phone_key
from intake.repository import IntakeRepository
from intake.store import FACTS, IDENTITIES, QUARANTINE

KEPT = ("created_at", "last_confirmed_at", "leads", "is_company")  # what counts and the fold's order need
NATIONAL_DIGITS = 9  # the tail of a number that every local format of it contains


class ClientKeys(Protocol):
    """The per-client keys that encrypt personal fields of published events (crypto-shredding)."""

    async def forget(self, client_ids: Sequence[str]) -> int:
        """Delete the keys of these clients; return how many were deleted."""


class NoClientKeys:
    """No per-client keys: events carry no encrypted fields, nothing to forget."""

    async def forget(self, client_ids: Sequence[str]) -> int:
        """Forget nothing."""
        return 0


def anonymous_fragment(fragment: dict[str, Any]) -> dict[str, Any]:
    """A lead fragment without personal data: the fields the fold orders by and counts, nothing else."""
    return {**{k: fragment[k] for k in KEPT if k in fragment}, "erased": True}


def contact_points(facts: Iterable[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The phones (E.164) and emails in a client's lead fragments, consents included."""
    phones, emails = set(), set()
    for fact in facts:
        fragment = fact.get("fragment") or {}
        phones |= {p["e164"] for p in fragment.get("phones", {}).values()}
        emails |= {e["address"] for e in fragment.get("emails", {}).values()}
        for contact in fragment.get("contacts", {}).values():
            phones |= set(contact.get("phones", []))
            emails |= set(contact.get("emails", []))
        for consent in fragment.get("consents", {}).values():
            (emails if consent.get("channel") == "email" else phones).add(consent["address"])
    return phones, emails


def mentions(raw: bytes, phones: Iterable[str], emails: Iterable[str]) -> bool:
    """Whether raw input bytes name one of the phones (in any local format) or emails."""
    text = raw.decode("utf-8", "replace").lower()
    digits = re.sub(r"\D", "", text)
    return (any(len(d := re.sub(r"\D", "", p)) >= NATIONAL_DIGITS and d[-NATIONAL_DIGITS:] in digits for p in phones)
            or any(e.lower() in text for e in emails))


async def merged_clients(repo: IntakeRepository, client_ids: Sequence[str]) -> dict[str, str]:
    """The clients and, following merge facts, every client merged into them, each with the client asked for."""
    owners, pending = {c: c for c in client_ids}, list(dict.fromkeys(client_ids))
    while pending:
        facts = await repo.mongo.facts_of(pending)
        found = {f["merged_client_id"]: owners[c] for c, fs in facts.items() for f in fs
                 if f["kind"] == "merge" and f["merged_client_id"] not in owners}
        owners |= found
        pending = list(found)
    return owners


class IntakeEraser:
    """Erases clients from intake's collections with a fixed number of round trips per batch."""

    def __init__(self, repo: IntakeRepository, hasher: KeyedHasher, keys: ClientKeys | None = None) -> None:
        self.repo, self.hasher, self.keys = repo, hasher, keys or NoClientKeys()
        self.db = repo.db

    async def erase(self, client_ids: Sequence[str]) -> Report:
        """Erase the clients (and the ones merged into them); report the documents touched per client."""
        if not self.hasher.ready:
            raise HashKeyMissing("PRIVACY_HASH_KEY is not set: nothing was erased")
        report: Report = {}
        owners = await merged_clients(self.repo, client_ids)
        facts = await self.repo.mongo.facts_of(owners)
        points = {c: contact_points(fs) for c, fs in facts.items()}
        await self._identities(points, owners, report)
        await self._quarantine(points, owners, report)
        await self._facts(facts, owners, report)  # last: the facts are where a retry finds the contact points
        forgotten = await self.keys.forget(list(facts))  # crypto-shredding: the topics' copies become unreadable
        if forgotten:
            report.setdefault(client_ids[0], {})["client_keys"] = forgotten
        return report

    async def _facts(self, facts: dict[str, list[dict[str, Any]]], owners: dict[str, str], report: Report) -> None:
        """Replace each lead fragment with its anonymous remainder."""
        now, ops = utc_now(), []
        for client_id, client_facts in facts.items():
            for fact in client_facts:
                if fact["kind"] == "lead" and not fact["fragment"].get("erased"):
                    ops.append(UpdateOne({"_id": fact["_id"]}, {"$set": {
                        "fragment": anonymous_fragment(fact["fragment"]), "erased_at": now}}))
                    count_touched(report, owners[client_id], FACTS)
        if ops:
            await self.db[FACTS].bulk_write(ops, ordered=False)

    async def _identities(self, points: dict[str, tuple[set[str], set[str]]], owners: dict[str, str],
                          report: Report) -> None:
        """Turn the clients' identity claims into keyed hashes; a claim another client owns stays."""
        wanted = {phone_key(p): c for c, (phones, _) in points.items() for p in phones}
        wanted |= {email_key(e): c for c, (_, emails) in points.items() for e in emails}
        claims = await self.repo.mongo.reads.by_ids(self.db[IDENTITIES], wanted)
        mine = {k: d for k, d in claims.items() if d.get("client_id") in points}
        if not mine:
            return
        now = utc_now()
        hashed = [{"_id": self.hasher.hash(k), "client_id": d["client_id"], "erased_at": now} for k, d in mine.items()]
        await self.db[IDENTITIES].bulk_write([*(UpdateOne({"_id": h["_id"]}, {"$setOnInsert": h}, upsert=True)
                                                for h in hashed), *(DeleteOne({"_id": k}) for k in mine)],
                                             ordered=True)  # the hash lands before the plain claim goes
        for key, doc in mine.items():
            count_touched(report, owners[doc["client_id"]], IDENTITIES)

    async def _quarantine(self, points: dict[str, tuple[set[str], set[str]]], owners: dict[str, str],
                          report: Report) -> None:
        """Drop the raw bytes of quarantined inputs that mention the clients' phones or emails."""
        if not points:
            return
        kept = await self.db[QUARANTINE].find({}, projection={"raw": 1}).to_list()
        ops = []
        for doc in kept:
            raw = doc.get("raw")
            if not raw:
                continue
            who = next((c for c, (phones, emails) in points.items() if mentions(bytes(raw), phones, emails)), None)
            if who is not None:
                ops.append(UpdateOne({"_id": doc["_id"]}, {"$set": {"raw": None, "status": "erased",
                                                                   "erased_at": utc_now()}}))
                count_touched(report, owners[who], QUARANTINE)
        if ops:
            await self.db[QUARANTINE].bulk_write(ops, ordered=False)

