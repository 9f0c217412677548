"""Benchmark (not a test): FerretDB v1's known limits on its PostgreSQL backend, re-checked on the local stack.

Run:  uv run --no-sync python benchmarks/ferretdb/limits.py [--docs 20000] [--lookups 300]

It starts its own ephemeral local stack (FerretDB on the stack's PostgreSQL, as tests get it) in a
temporary directory, stops it at the end, and prints: the final value after concurrent `$inc` on one
document; whether a `$group` with two `$sum` sums both; what createIndexes does with two existing indexes
in one command; find_one latency by `_id` and by an indexed secondary field, with and without the GIN
mirrors of the indexes; and the latency of a `$in` of 100 ids next to 100 point lookups.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from clientbase.stack import LocalStack

INCREMENT_TIMEOUT_S = 60


def timed_ms(action: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median and 95th percentile, in ms, of `runs` calls of `action`."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


async def concurrent_increments(mongo_url: str, database: str, count: int) -> str:
    """Run `count` concurrent `$inc` of 1 on one document and report its final value."""
    client: AsyncMongoClient = AsyncMongoClient(mongo_url, maxPoolSize=count, timeoutMS=INCREMENT_TIMEOUT_S * 1000)
    try:
        counters = client[database]["counters"]
        await counters.insert_one({"_id": "one", "n": 0})
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(counters.update_one({"_id": "one"}, {"$inc": {"n": 1}}) for _ in range(count)), return_exceptions=True)
        elapsed = time.perf_counter() - started
        failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        document = await counters.find_one({"_id": "one"})
        final = int(document["n"])
        errors = f", {len(failed)} failed (first: {failed[0]!r})" if failed else ""
        return f"final value {final} ({count - len(failed) - final} lost{errors}) in {elapsed:.1f} s"
    finally:
        await client.close()


def two_sums(db: Database) -> str:
    """Say whether a `$group` with two `$sum` accumulators sums both."""
    rows = db["sums"]
    rows.insert_many([{"g": "a", "x": 1, "y": 10}, {"g": "a", "x": 2, "y": 20}, {"g": "b", "x": 3, "y": 30}])
    result = {row["_id"]: (row.get("sx"), row.get("sy")) for row in rows.aggregate(
        [{"$group": {"_id": "$g", "sx": {"$sum": "$x"}, "sy": {"$sum": "$y"}}}])}
    expected = {"a": (3, 30), "b": (3, 30)}
    return f"got {dict(sorted(result.items()))}, expected {expected}: " + (
        "both summed" if result == expected else "NOT both summed")


def create_existing_indexes(db: Database, stack: LocalStack) -> str:
    """Report what one createIndexes command naming two indexes that already exist does."""
    indexed = db["indexed"]
    indexed.insert_one({"a": 1, "b": 2})
    specs = [{"key": {"a": 1}, "name": "a_1"}, {"key": {"b": 1}, "name": "b_1"}]
    db.command("createIndexes", indexed.name, indexes=specs)
    log_offset = stack.ferretdb.process.log_size()
    try:
        reply = db.command("createIndexes", indexed.name, indexes=specs)
    except PyMongoError as error:
        server_side = [line for line in stack.ferretdb.process.log_since(log_offset).splitlines()
                       if "runtime error" in line or "panic" in line]
        return f"error: {error}" + "".join(f"\n    ferretdb log: {line}" for line in server_side)
    shown = {key: reply[key] for key in ("numIndexesBefore", "numIndexesAfter", "note") if key in reply}
    return f"ok {shown}; indexes now {sorted(indexed.index_information())}"


def load(collection: Collection, docs: int) -> None:
    """Create the secondary index and insert `docs` documents."""
    collection.create_index("email")
    batch = 1000
    for start in range(0, docs, batch):
        collection.insert_many([
            {"_id": f"c-{n:06d}", "email": f"client{n}@example.test", "region": f"r{n % 7}", "score": n}
            for n in range(start, min(docs, start + batch))
        ])


def drop_gin_mirrors(stack: LocalStack, schema: str, table_prefix: str) -> list[str]:
    """Drop the GIN mirrors of one collection's indexes and return their names."""
    names = stack.postgres.psql("-c", (
        f"SELECT indexname FROM pg_indexes WHERE schemaname = '{schema}' "
        f"AND tablename LIKE '{table_prefix}%' AND indexname LIKE '%\\_gin'")).split()
    for name in names:
        stack.postgres.psql("-c", f'DROP INDEX "{schema}"."{name}"')
    return names


def scan_kind(db: Database, collection: str, query: dict[str, Any]) -> str:
    """Node types of the PostgreSQL plan of a find, outermost first."""
    plan = db.command("explain", {"find": collection, "filter": query})["queryPlanner"]["Plan"]
    kinds = []
    while plan:
        kinds.append(plan["Node Type"] + (f" on {plan['Index Name']}" if "Index Name" in plan else ""))
        plan = (plan.get("Plans") or [None])[0]
    return " > ".join(kinds)


def lookups(db: Database, collection: Collection, docs: int, runs: int) -> None:
    """Print find_one latency by _id and by the indexed email, with the plan of each."""
    pick = random.Random(7)
    for label, query in (
        ("_id", lambda: {"_id": f"c-{pick.randrange(docs):06d}"}),
        ("email", lambda: {"email": f"client{pick.randrange(docs)}@example.test"}),
    ):
        median, p95 = timed_ms(lambda query=query: collection.find_one(query()), runs)
        print(f"  find_one by {label:<5}: median {median:6.2f} ms, p95 {p95:6.2f} ms   "
              f"plan: {scan_kind(db, collection.name, query())}")


def main() -> None:
    """Start a throwaway stack, measure, print, stop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000, help="documents per lookup collection")
    parser.add_argument("--lookups", type=int, default=300, help="timed find_one calls per case")
    parser.add_argument("--increments", type=int, default=400, help="concurrent $inc on one document")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    base = Path(tempfile.mkdtemp(prefix="clientbase-ferretdb-limits-"))
    stack = LocalStack.ephemeral(base)
    try:
        stack.prepare()
        endpoints = stack.up()
        client: MongoClient = MongoClient(endpoints.mongo_url)
        db = client["limits"]
        print(f"FerretDB {stack.ferretdb.version()}, {stack.config.mongo_backend} backend "
              f"(PostgreSQL from {stack.postgres.bin_dir()})", flush=True)

        increments = asyncio.run(concurrent_increments(endpoints.mongo_url, db.name, arguments.increments))
        print(f"{arguments.increments} concurrent $inc on one document: {increments}")
        print(f"$group with two $sum: {two_sums(db)}")
        print(f"createIndexes with two existing indexes in one command: {create_existing_indexes(db, stack)}")

        with_gin, without_gin = db["with_gin"], db["without_gin"]
        for collection in (with_gin, without_gin):
            load(collection, arguments.docs)
        dropped = drop_gin_mirrors(stack, db.name, "without_gin")
        print(f"lookups on {arguments.docs} documents, {arguments.lookups} each:")
        print(" with the GIN mirrors:")
        lookups(db, with_gin, arguments.docs, arguments.lookups)
        print(f" without them (dropped {', '.join(dropped)}):")
        lookups(db, without_gin, arguments.docs, arguments.lookups)

        pick = random.Random(11)
        ids = [[f"c-{pick.randrange(arguments.docs):06d}" for _ in range(100)] for _ in range(20)]
        batches = iter(ids)
        in_median, in_p95 = timed_ms(lambda: list(with_gin.find({"_id": {"$in": next(batches)}})), 20)
        point_batches = iter(ids)
        point_median, point_p95 = timed_ms(
            lambda: [with_gin.find_one({"_id": one}) for one in next(point_batches)], 20)
        print(f"$in of 100 ids (mirrors present): median {in_median:.1f} ms, p95 {in_p95:.1f} ms   "
              f"plan: {scan_kind(db, with_gin.name, {'_id': {'$in': ids[0]}})}")
        print(f"100 find_one by _id instead:     median {point_median:.1f} ms, p95 {point_p95:.1f} ms")
        client.close()
    finally:
        stack.down()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
