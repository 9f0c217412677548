"""Rotation's eraser: a client's name and any free text about it leave the ownership records; the figures stay.

Rotation keeps who owned a client, when and why (manager ids, dates, rules), which counts need and which
hold no personal data; what goes is the client's display name and a head of sales' free-text reason, which
may quote a phone number or a name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.erasure.kit import ErasureKit, Report, parse_requests
from clientbase.events.envelope import utc_now
from clientbase.kafka.reliability import Delivery
from clientbase.mongo_reads import KeyedReads

from rotation.repository import ASSIGNMENTS, CLIENTS, DEFERRALS, HANDOVERS

TEXT = "decision.reason_text"
CLIENT_FIELDS = ("name", "assignment." + TEXT, "last_deferral." + TEXT)
SERVICE = "rotation"
EXPORTED = {CLIENTS: "_id", ASSIGNMENTS: "client_id", HANDOVERS: "client_id", DEFERRALS: "client_id"}


def has_text(doc: dict[str, Any], *path: str) -> bool:
    """Whether a free-text reason sits in the decision at this place of a document."""
    for part in path:
        doc = doc.get(part) or {}
    return bool((doc.get("decision") or {}).get("reason_text"))


class RotationEraser:
    """Erases clients' names and free text from rotation's collections in a fixed number of round trips."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], reads: KeyedReads) -> None:
        self.db, self.reads = db, reads

    async def erase(self, client_ids: Sequence[str]) -> Report:
        """Unset the clients' names and reasons; report the documents touched per client."""
        report: Report = {}
        now = utc_now()
        clients = await self.reads.by_ids(self.db[CLIENTS], client_ids)
        touched = [d for d in clients.values()
                   if d.get("name") or has_text(d, "assignment") or has_text(d, "last_deferral")]
        if touched:
            await self.db[CLIENTS].bulk_write([UpdateOne({"_id": d["_id"]}, {
                "$unset": {f: "" for f in CLIENT_FIELDS}, "$set": {"erased_at": now}}) for d in touched],
                ordered=False)
        for doc in touched:
            report.setdefault(doc["_id"], {})[CLIENTS] = 1
        history = await self.reads.by_field(self.db[ASSIGNMENTS], "client_id", client_ids)
        texts = [d for d in history if has_text(d)]
        if texts:
            await self.db[ASSIGNMENTS].bulk_write([UpdateOne({"_id": d["_id"]}, {"$unset": {TEXT: ""}})
                                                   for d in texts], ordered=False)
        for doc in texts:
            counts = report.setdefault(doc["client_id"], {})
            counts[ASSIGNMENTS] = counts.get(ASSIGNMENTS, 0) + 1
        return report


async def erase_clients(batches: Any, batch: Sequence[Delivery]) -> None:
    """The erasure step of rotation's consumer: erase, mark, report on clients.erased, stop using cached keys."""
    eraser = RotationEraser(batches.db, batches.reads)
    await ErasureKit(SERVICE, batches.db, batches.service.publisher).handle(batch, eraser.erase)
    if batches.vault is not None:
        batches.vault.evict(r.client_id for r in parse_requests(batch) if r.client_id)
