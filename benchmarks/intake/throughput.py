"""Intake throughput against two floors measured in the same run: bare aiokafka → bulk insert, and equal work.

Run (it starts its own stack on free ports unless KAFKA_BOOTSTRAP_SERVERS and MONGO_URL are set):

    uv run --no-sync python -m benchmarks.intake.throughput --existing 10000 --leads 10000

Each phase drains the same pre-produced backlog of form leads (mostly new people, a share of returning
existing clients) from a 6-partition topic in a process of its own, with its own consumer group, so its CPU
seconds, peak RSS, MongoDB commands (PyMongo command monitoring) and Kafka requests (counted at aiokafka's
client) are its own. Rates run from the first handled batch to the last, so group joins are not counted.
The table is printed and written as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from rich.console import Console
from rich.table import Table

from clientbase import topics

from benchmarks.intake.floors import bare_floor, equal_work_floor
from benchmarks.intake.workload import create_topics, measured_leads, prefill, produce
from benchmarks.support.drain import drain_service
from benchmarks.support.phases import run_phase
from benchmarks.support.stack import endpoints_for
from benchmarks.support.secrets import use_throwaway_secrets


async def intake_phase(bootstrap: str, mongo_url: str, prefix: str, database: str, count: int
                       ) -> tuple[int, float]:
    """One intake process (the real app, batch subscribers) drains the backlog; return (leads, seconds)."""
    return await drain_service("intake", bootstrap, mongo_url, database, f"bench-intake-{prefix.strip('.')}", count,
                               topic_prefix=prefix)


async def setup(bootstrap: str, mongo_url: str, run: str, existing: int, leads: int, returning: float) -> dict[str, str]:
    """Topics, the backlog and the prefilled databases of one run."""
    prefix = f"bench{run}."
    await create_topics(bootstrap, prefix)
    await create_topics(bootstrap, "floor." + prefix)
    names = {"prefix": prefix, "intake_db": f"bench_{run}_intake", "floor_db": f"bench_{run}_floor",
             "bare_db": f"bench_{run}_bare"}
    await asyncio.gather(prefill(mongo_url, names["intake_db"], existing),
                         prefill(mongo_url, names["floor_db"], existing))
    await produce(bootstrap, prefix + topics.LEADS_FORM_SUBMITTED.name, measured_leads(leads, existing, returning))
    return names


async def cleanup(mongo_url: str, names: dict[str, str]) -> None:
    """Drop the run's databases."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        for key in ("intake_db", "floor_db", "bare_db"):
            await mongo.drop_database(names[key])
    finally:
        await mongo.close()


def measure(bootstrap: str, mongo_url: str, existing: int, leads: int, returning: float) -> dict[str, Any]:
    """One row: the two floors and intake on the same backlog."""
    run = uuid.uuid4().hex[:8]
    names = asyncio.run(setup(bootstrap, mongo_url, run, existing, leads, returning))
    topic = names["prefix"] + topics.LEADS_FORM_SUBMITTED.name
    try:
        bare = run_phase(bare_floor, bootstrap=bootstrap, mongo_url=mongo_url, topic=topic, group=f"bare-{run}",
                         database=names["bare_db"], count=leads)
        equal = run_phase(equal_work_floor, bootstrap=bootstrap, mongo_url=mongo_url, topic=topic,
                          group=f"equal-{run}", database=names["floor_db"], count=leads)
        intake = run_phase(intake_phase, bootstrap=bootstrap, mongo_url=mongo_url, prefix=names["prefix"],
                           database=names["intake_db"], count=leads)
    finally:
        asyncio.run(cleanup(mongo_url, names))
    return {"existing": existing, "leads": leads, "returning_share": returning, "bare": bare, "equal_work": equal,
            "intake": intake, "ratio_to_bare": intake["events_per_s"] / bare["events_per_s"],
            "ratio_to_equal_work": intake["events_per_s"] / equal["events_per_s"]}


def table(rows: list[dict[str, Any]]) -> Table:
    """The figures as one table."""
    out = Table(title="intake throughput vs floors (same run, same machine)")
    for column in ("backend", "existing", "leads", "phase", "events/s", "ratio", "mongo w/ev", "mongo r/ev", "kafka req/ev",
                   "cpu s", "peak RSS MB", "commit fails"):
        out.add_column(column, justify="right")
    for row in rows:
        for phase in ("bare", "equal_work", "intake"):
            f = row[phase]
            ratio = (f"{row['ratio_to_bare']:.2f} bare / {row['ratio_to_equal_work']:.2f} equal"
                     if phase == "intake" else "")
            out.add_row(row["backend"], str(row["existing"]), str(row["leads"]), phase, f"{f['events_per_s']:.0f}", ratio,
                        f"{f['mongo_writes_per_event']:.3f}", f"{f['mongo_reads_per_event']:.3f}",
                        f"{f['kafka_requests_per_event']:.3f}", f"{f['cpu_s']:.1f}", f"{f['peak_rss_mb']:.0f}",
                        str(f["commit_failures"]))
    return out


def main() -> None:
    """Measure each requested (backend, existing clients) row and print and save the table."""
    use_throwaway_secrets()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000, help="measured leads per row")
    parser.add_argument("--rows", nargs="+",
                        default=["postgresql:10000", "postgresql:100000", "sqlite:10000:250"],
                        help="BACKEND:EXISTING_CLIENTS[:LEADS] per row; the backend of the FerretDB stack this command "
                        "starts (postgresql or sqlite; with KAFKA_BOOTSTRAP_SERVERS and MONGO_URL set, the given "
                        "servers are used instead)")
    parser.add_argument("--returning", type=float, default=0.2, help="share of measured leads from existing clients")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/intake.json"))
    args = parser.parse_args()
    console = Console(width=180)
    rows = []
    wanted: dict[str, list[tuple[int, int]]] = {}
    for row in args.rows:
        backend, existing, *leads = row.split(":")
        wanted.setdefault(backend, []).append((int(existing), int(leads[0]) if leads else args.leads))
    for backend, sizes in wanted.items():
        with endpoints_for(backend) as (bootstrap, mongo_url, label):
            for existing, leads in sizes:
                console.log(f"{label}: prefilling {existing} clients, then {leads} leads through 3 phases")
                rows.append({"backend": label, **measure(bootstrap, mongo_url, existing, leads, args.returning)})
                console.print(table(rows[-1:]))
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(rows, indent=2, default=str))
    console.print(table(rows))
    console.print(f"written: {args.json}")


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    main()
