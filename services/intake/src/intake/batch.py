"""Applies a batch of first-delivered leads with a fixed number of bulk round trips, redoing only what collided.

The rules are the ones a single lead follows (`IntakeService.try_register`), run lead by lead in batch order
over a `BatchStore` that was filled in bulk beforehand: so two leads of one person in a batch make one
client, exactly as they would one after the other. Claims are inserted first, in bulk, so a new identity
costs no read; only identities that already existed are read, then the merges and facts of their clients.
After the flush, leads whose writes collided with another writer are redone one by one against MongoDB,
together with every lead of the batch they touched. A concurrent merge is such a collision too: merging a
client appends a marker to its own facts, at the position this batch would have appended to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from clientbase.events.envelope import utc_now
from clientbase.mongo_writes import insert_new

from intake.domain import Lead, candidate_client_id
from intake.store import IDENTITIES, MERGES, REGISTRATIONS, BatchStore

if TYPE_CHECKING:
    from intake.service import IntakeService, Outcome

MAX_LOAD_ROUNDS = 20


class LeadBatch:
    """One batch of leads, each delivered for the first time, applied together."""

    def __init__(self, service: IntakeService, leads: Sequence[Lead]) -> None:
        self.service = service
        self.leads = list(leads)
        self.repo = service.repo
        self.store = BatchStore(self.repo.mongo)
        self.candidates = [candidate_client_id(lead.lead_event_id, lead.occurred_at) for lead in self.leads]

    async def apply(self) -> list[Outcome]:
        """Apply every lead; return their outcomes in batch order (events not yet published)."""
        await self._claim_identities()
        await self._load_clients()
        overlay = self.repo.over(self.store)
        outcomes: list[Outcome | None] = []
        for index, lead in enumerate(self.leads):
            self.store.group = index
            outcomes.append(await self.service.try_register(lead, overlay))
        failed = {i for i, o in enumerate(outcomes) if o is None} | self._read_mid_merge()
        failed |= await self.store.flush()
        redo = self._related(failed)
        for index, (lead, outcome) in enumerate(zip(self.leads, outcomes, strict=True)):
            if index not in redo and outcome is not None:
                self.service.log_registration(lead, outcome)
        for index in sorted(redo):
            outcomes[index] = await self.service.register_lead(self.leads[index], publish=False)
        return [o for o in outcomes if o is not None]

    async def _claim_identities(self) -> None:
        """Insert every identity claim of the batch in one command; read back only the ones that existed."""
        claims: dict[str, dict[str, object]] = {}
        now = utc_now()
        for lead, candidate in zip(self.leads, self.candidates, strict=True):
            for key in lead.identity_keys():
                claims.setdefault(key.key, {"_id": key.key, "client_id": candidate,
                                            "lead_event_id": lead.lead_event_id, "claimed_at": now})
        collection = self.repo.db[IDENTITIES]
        existing = await insert_new(collection, list(claims.values()))
        found = await self.repo.mongo.reads.by_ids(collection, existing)
        self.store.load(IDENTITIES, {**{k: v for k, v in claims.items() if k not in existing}, **found}, claims)
        for candidate in self.candidates:  # ids only this batch can have made: nothing is stored under them
            self.store.assume_new(MERGES, candidate)
            self.store.assume_new(REGISTRATIONS, candidate)
        self.store.load_facts({c: [] for c in self.candidates})

    async def _load_clients(self) -> None:
        """Read in bulk the merges, registrations and facts of the existing clients the claims point at."""
        reads, db = self.repo.mongo.reads, self.repo.db
        owners = {str(d["client_id"]) for d in self.store.docs[IDENTITIES].values() if d} - set(self.candidates)
        clients: set[str] = set()
        frontier = owners
        for _ in range(MAX_LOAD_ROUNDS):
            if not frontier:
                break
            merges = await reads.by_ids(db[MERGES], frontier)
            self.store.load(MERGES, merges, frontier)
            clients |= frontier
            frontier = {str(m["survivor"]) for m in merges.values()} - clients
        self.store.assume_existing(REGISTRATIONS, clients)  # a client with an identity was registered: probed
        frontier = clients
        for _ in range(MAX_LOAD_ROUNDS):
            if not frontier:
                break
            facts = await self.repo.mongo.facts_of(frontier)
            self.store.load_facts(facts)
            merged = {str(f["merged_client_id"]) for fs in facts.values() for f in fs if f["kind"] == "merge"}
            frontier = {c for c in merged if not self.store.knows_facts(c)}

    def _read_mid_merge(self) -> set[int]:
        """Leads that used a client whose facts say it merged away, though the merges read before did not."""
        stale = {c for c, facts in self.store.fact_lists.items() if any(f["kind"] == "merged_into" for f in facts)
                 and self.store.docs[MERGES].get(c) is None}
        return {i for i, ids in self.store.touched.items() if ids & stale}

    def _related(self, failed: set[int]) -> set[int]:
        """The failed leads and every lead of the batch that touched an identity or client they touched."""
        if not failed:
            return set()
        touched = {i: self.store.touched[i] | {k.key for k in lead.identity_keys()} | {self.candidates[i]}
                   for i, lead in enumerate(self.leads)}
        redo, ids = set(failed), set().union(*(touched[i] for i in failed))
        grew = True
        while grew:
            grew = False
            for index, mine in touched.items():
                if index not in redo and mine & ids:
                    redo.add(index)
                    ids |= mine
                    grew = True
        return redo

