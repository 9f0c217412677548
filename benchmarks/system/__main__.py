"""The whole system's benchmark (figures, not tests): `make bench` or `python -m benchmarks.system`.

Starts its own stack on free ports (or uses KAFKA_BOOTSTRAP_SERVERS and MONGO_URL, with SMTP_HOST, SMTP_PORT and
MAILPIT_URL, when set) and measures, in one run on one machine:

  A  the floor: bare aiokafka `getmany` → PyMongo `insert_many(ordered=False)` → commit, on the form backlog;
  B  intake, rotation, notify (SMTP included) and metrics each draining a pre-filled backlog, as a ratio to A;
  C  end-to-end latency with the four services as separate processes, open loop at two shares of B's intake
     rate: form published → client stored → owner assigned → owner's email captured by the SMTP server;
  D  the rotation sweep (`Sweeper.sweep(as_of, apply=False)`) against a bare indexed scan of the same clients;
  E  metrics lag: sale published → figure visible in the read API.

Prints one table and writes it, with the raw figures, to benchmarks/results/system.json.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from benchmarks.metrics.lag import lag_samples
from benchmarks.rotation.sweep_benchmark import bare_scan_phase, load_phase, plan_phase
from benchmarks.support.phases import run_phase
from benchmarks.support.stack import stack_for
from benchmarks.system import report
from benchmarks.system.latency import STAGES, offered_load, percentiles, publish_roster
from benchmarks.system.services import running_services
from benchmarks.system.throughput import Sizes, measure_throughput
from benchmarks.support.secrets import use_throwaway_secrets

Step = Callable[[str], None]


def arguments() -> argparse.Namespace:
    """The sizes of every part; the defaults finish in under 15 minutes on 2 cores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intake", type=int, default=10_000, help="A/B: form leads in the backlog")
    parser.add_argument("--existing", type=int, default=10_000, help="B: clients intake's database holds before")
    parser.add_argument("--rotation", type=int, default=2_000, help="B: client registrations rotation assigns")
    parser.add_argument("--notify", type=int, default=300, help="B: notification requests notify sends by SMTP")
    parser.add_argument("--metrics", type=int, default=20_000, help="B: registrations and sales metrics folds")
    parser.add_argument("--loads", type=float, nargs="+", default=[0.25, 0.50],
                        help="C: offered loads as shares of B's intake rate")
    parser.add_argument("--load-s", type=float, default=30.0, help="C: seconds each offered load lasts")
    parser.add_argument("--drain-s", type=float, default=120.0, help="C: most seconds to wait for the last email")
    parser.add_argument("--sweep-clients", type=int, default=100_000, help="D: clients the sweep covers")
    parser.add_argument("--lag-samples", type=int, default=100, help="E: sales timed to visibility")
    parser.add_argument("--lag-clients", type=int, default=300, help="E: background clients (3 sales each)")
    parser.add_argument("--backend", default="postgresql", help="FerretDB backend of the stack this command starts")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/system.json"))
    return parser.parse_args()


def part_c(endpoints: Any, run: str, intake_rate: float, args: argparse.Namespace, step: Step
           ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """End-to-end latency at each offered load, and each service process's CPU and peak RSS over them."""
    rows, details = [], {}
    step("C: starting the four services as processes")
    with tempfile.TemporaryDirectory(prefix="clientbase-bench-system-") as state, \
            running_services(endpoints, run, Path(state)) as services:
        asyncio.run(publish_roster(endpoints.kafka_bootstrap))
        time.sleep(5)  # the roster reaches rotation and notify before the first lead
        before = services.usage()
        for n, share in enumerate(args.loads):
            rate = max(0.5, intake_rate * share)
            step(f"C: {rate:.1f} leads/s for {args.load_s:.0f} s ({share:.0%} of intake's rate), then their emails")
            figures = asyncio.run(offered_load(endpoints.kafka_bootstrap, endpoints.mongo_url, endpoints.mailpit_url,
                                               rate, args.load_s, 1_000_000 * (n + 1), args.drain_s))
            details[f"load_{share}"] = figures
            stalled = figures["server_stalled_at_s"]
            note = f" (server stalled at {stalled:.0f} s)" if stalled is not None else ""
            for stage in STAGES:
                rows.append(report.row("C", f"e2e {share:.0%} load: form → {stage}{note}",
                                       events=figures[stage]["reached"], rate=rate, latency=figures[stage]))
            if stalled is not None:
                step(f"C: the MongoDB-wire server stopped answering {stalled:.0f} s into the load; C ends here")
                break
        after = services.usage()
    for name, usage in after.items():
        rows.append(report.row("C", f"process {name} (over the loads)", cpu_s=usage.cpu_s - before[name].cpu_s,
                               peak_rss_mb=usage.peak_rss_mb))
    return rows, details


def part_d(mongo_url: str, run: str, clients: int, step: Step) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The sweep's plan against a bare indexed scan of the same loaded clients."""
    database = f"bench_{run}_sweep"
    step(f"D: loading {clients:,} rotation clients")
    loaded = run_phase(load_phase, mongo_url=mongo_url, database=database, clients=clients)
    step(f"D: bare indexed scan over {clients:,} clients")
    bare = run_phase(bare_scan_phase, mongo_url=mongo_url, database=database)
    step(f"D: sweep plan over {clients:,} clients")
    plan = run_phase(plan_phase, mongo_url=mongo_url, database=database)
    asyncio.run(drop(mongo_url, database))
    return [report.phase_row("D", "load clients (insert_many, indexed)", loaded, None),
            report.phase_row("D", "bare indexed scan of due clients", bare, None),
            report.phase_row("D", "sweep plan (apply=False), ratio to bare", plan, bare)], \
        {"load": loaded, "bare_scan": bare, "plan": plan}


def part_e(endpoints: Any, args: argparse.Namespace, step: Step) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Metrics lag from a sale published to the figure visible in the read API."""
    step(f"E: metrics lag, {args.lag_samples} sales")
    lags, usage = lag_samples(endpoints.kafka_bootstrap, endpoints.mongo_url, args.lag_clients, args.lag_samples,
                              poll_s=0.01, settle_s=5.0, quiet=True)
    latency = percentiles(lags)
    return [report.row("E", "metrics lag: sale → visible in API", events=len(lags), latency=latency,
                       cpu_s=usage.cpu_s, peak_rss_mb=usage.peak_rss_mb)], \
        {"lags_ms": lags, "mean_ms": statistics.fmean(lags) if lags else None}


async def drop(mongo_url: str, database: str) -> None:
    """Drop a throwaway database."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        await client.drop_database(database)
    finally:
        await client.close()


def main() -> None:
    """Run A, B, D, E, then C (it can stall FerretDB) with progress shown; print the table, write the JSON."""
    use_throwaway_secrets()
    args = arguments()
    console = Console(width=200)
    run = uuid.uuid4().hex[:8]
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    started = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("starting the stack", total=None)

        def step(text: str) -> None:
            console.log(text)
            progress.update(task, description=text)

        with stack_for(args.backend) as (endpoints, label):
            sizes = Sizes(args.intake, args.existing, args.rotation, args.notify, args.metrics)
            throughput = measure_throughput(endpoints, run, sizes, step)
            floor = throughput["floor"]
            rows.append(report.phase_row("A", "floor: aiokafka getmany → insert_many → commit", floor, floor))
            for name, what in (("intake", "intake: form leads → clients"),
                               ("rotation", "rotation: registrations → assignments"),
                               ("notify", "notify: requests → outcomes (SMTP)"),
                               ("metrics", "metrics: registrations + sales → facts")):
                rows.append(report.phase_row("B", what, throughput[name], floor))
            details["throughput"] = throughput
            if any("error" in figures for figures in throughput.values()):
                step("a throughput phase failed, so the server may be stalled: C, D and E are skipped")
                args.skip = True
            # C runs last: on FerretDB v1 the services together can stall the server (see the README).
            for part, measure in (("sweep", lambda: part_d(endpoints.mongo_url, run, args.sweep_clients, step)),
                                  ("lag", lambda: part_e(endpoints, args, step)),
                                  ("latency", lambda: part_c(endpoints, run, throughput["intake"]["events_per_s"],
                                                             args, step))):
                if getattr(args, "skip", False):
                    break
                part_rows, details[part] = measure()
                rows += part_rows
    rows.sort(key=lambda r: r["part"])  # stable: A to E, each part's rows in measured order
    took = time.perf_counter() - started
    title = f"ClientBase system benchmark on {label}, {os.cpu_count()} cores, {took / 60:.1f} min"
    console.print(report.table(rows, title))
    path = report.write(args.json, rows, {**vars(args), "json": str(args.json), "backend_label": label,
                                          "wall_s": took}, details)
    console.print(f"written: {path}")


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # leaders of new topics settle while the backlogs go out
    main()
