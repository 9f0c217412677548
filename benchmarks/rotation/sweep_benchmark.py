"""Benchmark (not a test): the rotation sweep over N clients, side by side with a bare indexed cursor scan.

Run:  uv run --no-sync python -m benchmarks.rotation.sweep_benchmark --clients 1000000 --mongo-url mongodb://127.0.0.1:27017/

It loads N ownership documents (a fraction of them past a threshold) into a throwaway database, then times
in the same run: the bare indexed cursor scan that returns the same due clients, `plan` (the sweep's read
path plus the policy), and the applying sweep (plan + a `clients.inactive` event built per due client + the
insert-only "emitted" marks; events go to a counting publisher so the shared broker is not flooded). Prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from clientbase.events.envelope import Envelope
from clientbase.mongo import ensure_indexes
from clientbase.topics import Topic

from rotation.domain import Rules
from rotation.repository import CLIENTS, INDEXES, MANAGERS, MARKS, OWNED, STATS, RotationRepository
from rotation.service import RotationService
from rotation.sweep import Sweeper

AS_OF = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class CountingPublisher:
    """Builds and serializes every event as the real publisher would, but only counts it."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    async def publish(self, topic: Topic, event: Envelope, *, key: str) -> None:
        """Serialize and count one event."""
        self.bytes += len(event.model_dump_json())
        self.count += 1

    async def publish_all(self, items: Any) -> None:
        """Serialize and count several events."""
        for topic, event, key in items:
            await self.publish(topic, event, key=key)


def client_doc(i: int, managers: int, due_every: int) -> dict[str, Any]:
    """One ownership document; every `due_every`-th client is past a threshold (alternating triggers)."""
    manager = f"m{i % managers:03}"
    due = i % due_every == 0
    bought = (i // due_every) % 2 == 1 if due else i % 3 == 0
    if due:
        assigned = AS_OF - timedelta(days=500 if bought else 200, minutes=i % 997)
        last_sale = AS_OF - timedelta(days=400, minutes=i % 991) if bought else None
    else:
        assigned = AS_OF - timedelta(days=i % 170, minutes=i % 997)
        last_sale = AS_OF - timedelta(days=i % 300) if bought else None
    since = max(d for d in (assigned, last_sale) if d is not None)
    return {"_id": f"c{i:08}", "status": OWNED, "manager_id": manager, "epoch": 1, "deferrals": 0,
            "assigned_at": assigned, "has_sale": bought, "sales_count": int(bought),
            "revenue": 100.0 if bought else 0.0, "last_sale_at": last_sale, "first_sale_at": last_sale,
            "activity_since": since, "kind": "person", "country": "RU", "language": "ru", "previous_owners": []}


async def load(db: Any, clients: int, managers: int, due_every: int, batch: int) -> float:
    """Insert the roster and N clients; returns seconds spent."""
    await db[MANAGERS].insert_many([{"_id": f"m{n:03}", "name": f"m{n}", "grade": 1, "status": "active",
                                     "capacity": clients, "regions": ["RU"], "languages": ["ru"],
                                     "is_head": n == 0} for n in range(managers)])
    started = time.perf_counter()
    for first in range(0, clients, batch):
        docs = [client_doc(i, managers, due_every) for i in range(first, min(first + batch, clients))]
        await db[CLIENTS].insert_many(docs, ordered=False)
    seconds = time.perf_counter() - started
    await db[STATS].insert_many([{"_id": f"m{n:03}:00", "manager_id": f"m{n:03}", "applied": [],
                                  "load": len(range(n, clients, managers)), "received": 0, "given": 0}
                                 for n in range(managers)])
    return seconds


def step(name: str) -> None:
    """Say which step runs, for long runs."""
    print(f"... {name}", flush=True)


async def bare_scan(db: Any, rules: Rules, *, quiet: bool = False) -> tuple[int, float]:
    """The same due clients through the same index, with nothing else done; returns (count, seconds)."""
    if not quiet:
        step("bare scan")
    started = time.perf_counter()
    count = 0
    query = {"$or": [
        {"status": OWNED, "has_sale": False, "activity_since": {"$lt": AS_OF - timedelta(days=rules.no_first_sale_days)}},
        {"status": OWNED, "has_sale": True, "activity_since": {"$lt": AS_OF - timedelta(days=rules.no_repeat_sale_days)}},
    ]}
    async for _ in db[CLIENTS].find(query).sort([("activity_since", 1), ("_id", 1)]):
        count += 1
    return count, time.perf_counter() - started


async def timed_sweep(sweeper: Sweeper, *, apply: bool) -> tuple[int, float]:
    """One sweep or plan; returns (due clients, seconds)."""
    step("sweep" if apply else "plan")
    started = time.perf_counter()
    report = await sweeper.sweep(AS_OF, apply=apply)
    return len(report.plan), time.perf_counter() - started


def _quiet() -> None:
    """Log warnings and worse only."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


async def load_phase(mongo_url: str, database: str, clients: int, managers: int = 50, due_every: int = 100,
                     batch: int = 5000) -> tuple[int, float]:
    """A fresh database with rotation's indexes and N ownership documents; (clients, load seconds)."""
    _quiet()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        await mongo.drop_database(database)
        for spec in INDEXES:
            await ensure_indexes(mongo[database], [spec])
        return clients, await load(mongo[database], clients, managers, due_every, batch)
    finally:
        await mongo.close()


async def bare_scan_phase(mongo_url: str, database: str) -> tuple[int, float]:
    """The bare indexed scan over the loaded clients; (clients covered, seconds)."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        db = mongo[database]
        _, seconds = await bare_scan(db, Rules(), quiet=True)
        return await db[CLIENTS].estimated_document_count(), seconds
    finally:
        await mongo.close()


async def plan_phase(mongo_url: str, database: str) -> tuple[int, float]:
    """`Sweeper.sweep(as_of, apply=False)` over the loaded clients; (clients covered, seconds)."""
    _quiet()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        db = mongo[database]
        sweeper = Sweeper(RotationService(RotationRepository(db), CountingPublisher(), Rules()), batch_size=1000)
        started = time.perf_counter()
        await sweeper.sweep(AS_OF, apply=False)
        return await db[CLIENTS].estimated_document_count(), time.perf_counter() - started
    finally:
        await mongo.close()


async def main() -> None:
    """Load, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--due-every", type=int, default=100, help="every k-th client is due (default 1%%)")
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--batch", type=int, default=5000, help="documents per insert_many")
    parser.add_argument("--mongo-url", default=os.environ.get("MONGO_URL", "mongodb://127.0.0.1:27017/"))
    parser.add_argument("--database", default=None, help="default: bench_rotation_<clients>")
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    import structlog
    import logging
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(args.mongo_url, tz_aware=True)
    db = mongo[args.database or f"bench_rotation_{args.clients}"]
    rules = Rules()
    try:
        loaded = await db[CLIENTS].estimated_document_count()
        if not (args.reuse and loaded == args.clients):
            await mongo.drop_database(db.name)
            for spec in INDEXES:
                await ensure_indexes(db, [spec])
            seconds = await load(db, args.clients, args.managers, args.due_every, args.batch)
            print(f"load: {args.clients} clients in {seconds:.1f} s ({args.clients / seconds:,.0f} docs/s, "
                  f"indexes maintained during load)")
        await db[MARKS].drop()  # a rerun with --reuse publishes again
        publisher = CountingPublisher()
        sweeper = Sweeper(RotationService(RotationRepository(db), publisher, rules), batch_size=1000)
        step("standings")
        standings_started = time.perf_counter()
        await RotationRepository(db).standings()
        standings_s = time.perf_counter() - standings_started
        bare_n, bare_s = await bare_scan(db, rules)
        plan_n, plan_s = await timed_sweep(sweeper, apply=False)
        bare2_n, bare2_s = await bare_scan(db, rules)
        sweep_n, sweep_s = await timed_sweep(sweeper, apply=True)
        assert bare_n == plan_n == sweep_n == bare2_n, (bare_n, plan_n, sweep_n, bare2_n)
        print(f"clients={args.clients} due={bare_n} managers={args.managers} url={args.mongo_url}")
        print(f"{'step':<42}{'seconds':>10}{'due/s':>12}{'x bare':>9}")
        best_bare = min(bare_s, bare2_s)
        for name, seconds in (("bare indexed cursor scan (1st)", bare_s), ("bare indexed cursor scan (2nd)", bare2_s),
                              ("roster standings (load, balance counts)", standings_s),
                              ("plan (standings + scan + policy)", plan_s),
                              ("sweep (plan + events + emitted marks)", sweep_s)):
            print(f"{name:<42}{seconds:>10.2f}{bare_n / seconds:>12,.0f}{seconds / best_bare:>9.2f}")
        print(f"events built: {publisher.count} ({publisher.bytes / max(publisher.count, 1):.0f} bytes each)")
    finally:
        if not args.keep:
            await mongo.drop_database(db.name)
        await mongo.close()


if __name__ == "__main__":
    asyncio.run(main())
