"""Command line of the rotation service: `sweep`, `plan`, `overdue` and `history` (`clientbase-rotation --help`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from clientbase.kafka.publishing import PrefixedPublisher
from clientbase.logging import configure_logging
from clientbase.runtime import ServiceRuntime
from rotation.hot import hot_leads
from rotation.repository import RotationRepository
from rotation.app import SERVICE, build_runtime
from rotation.domain import parse_moment
from rotation.service import RotationService
from rotation.settings import Settings
from rotation.sweep import SweepReport, Sweeper

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `clientbase-rotation`."""
    parser = argparse.ArgumentParser(prog="clientbase-rotation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sweep = commands.add_parser("sweep", help="publish clients.inactive for every due client, escalate "
                                "overdue handovers, retry unassigned clients")
    sweep.add_argument("--as-of", type=parse_moment, default=None, help="the sweep's clock (default: now)")
    plan = commands.add_parser("plan", help="show what would rotate and to whom, without applying")
    plan.add_argument("--as-of", type=parse_moment, default=None, help="preview as of this date (default: now)")
    plan.add_argument("--json", action="store_true", help="print JSON instead of a table")
    overdue = commands.add_parser("overdue", help="only escalate handovers past their deadline")
    overdue.add_argument("--as-of", type=parse_moment, default=None)
    hot = commands.add_parser("hot-check", help="publish clients.hot-untouched for hot clients their owners have not "
                              "worked with in time (the service runs it every ROTATION_HOT_CHECK_INTERVAL_S)")
    hot.add_argument("--as-of", type=parse_moment, default=None, help="the check's clock (default: now)")
    history = commands.add_parser("history", help="every assignment of a client, with reason and inputs")
    history.add_argument("client_id")
    history.add_argument("--json", action="store_true", help="print JSON instead of lines")
    return parser


@asynccontextmanager
async def connected(settings: Settings, *, kafka: bool) -> AsyncIterator[tuple[Sweeper, ServiceRuntime]]:
    """A sweeper on the service's database (and its runtime), with a started Kafka producer when publishing."""
    runtime = build_runtime(settings)
    await runtime.connect()
    try:
        if kafka:
            await runtime.broker.start()
        service = RotationService(RotationRepository(runtime.db),
                                  PrefixedPublisher(runtime.publisher, settings.topic_prefix), settings.rules())
        yield Sweeper(service, settings.sweep_batch_size), runtime
    finally:
        if kafka:
            await runtime.broker.stop()
        await runtime.close()


def plan_table(report: SweepReport) -> str:
    """A readable table of a plan."""
    rows = [("client", "trigger", "from", "to", "balance", "load", "note")]
    for p in report.plan:
        chosen = p.choice.inputs.get("chosen", {})
        rows.append((p.client_id, p.trigger, p.from_manager_id or "-", p.choice.manager_id or "-",
                     str(chosen.get("balance", "")), str(chosen.get("load", "")), p.choice.deferral_reason or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.append(f"{len(report.plan)} client(s) due as of {report.as_of.isoformat()}")
    return "\n".join(lines)


def history_lines(assignments: list[dict[str, Any]], deferrals: list[dict[str, Any]]) -> str:
    """One line per assignment and per deferred rotation."""
    lines = []
    for a in assignments:
        lines.append(f"#{a['epoch']} {a['assigned_at'].isoformat()} {a['reason']}: "
                     f"{a.get('previous_manager_id') or '-'} -> {a['manager_id']} ({a['rule_version']}) "
                     f"{json.dumps(a.get('decision', {}), default=str, ensure_ascii=False)}")
    for d in deferrals:
        lines.append(f"deferred epoch {d['assignment_epoch']} attempt {d['attempt']} {d['as_of'].isoformat()} "
                     f"{d['trigger']}: {d['reason']}")
    return "\n".join(lines) if lines else "no assignments"


async def run(argv: Sequence[str], settings: Settings | None = None, out: TextIO = sys.stdout) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(list(argv))
    settings = settings or Settings()
    as_of = getattr(args, "as_of", None) or datetime.now(UTC)
    publishes = args.command in {"sweep", "overdue", "hot-check"}
    async with connected(settings, kafka=publishes) as (sweeper, runtime):
        if args.command == "hot-check":
            print(json.dumps(await hot_leads(runtime, settings).check(as_of)), file=out)
        elif args.command == "sweep":
            report = await sweeper.sweep(as_of, apply=True)
            print(f"emitted {report.emitted} inactive, escalated {report.overdue} overdue handover(s), "
                  f"retried {report.unassigned_retried} unassigned", file=out)
        elif args.command == "plan":
            report = await sweeper.sweep(as_of, apply=False)
            print(json.dumps(report.as_json(), ensure_ascii=False, default=str, indent=2) if args.json
                  else plan_table(report), file=out)
        elif args.command == "overdue":
            print(f"escalated {await sweeper.escalate_overdue(as_of)} overdue handover(s)", file=out)
        else:
            assignments, deferrals = await sweeper.repo.history(args.client_id)
            if args.json:
                print(json.dumps({"assignments": assignments, "deferrals": deferrals}, default=str,
                                 ensure_ascii=False, indent=2), file=out)
            else:
                print(history_lines(assignments, deferrals), file=out)
            return 0 if assignments or deferrals else 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clientbase-rotation`."""
    settings = Settings()
    configure_logging(SERVICE, settings.logging)
    return asyncio.run(run(sys.argv[1:] if argv is None else argv, settings))


if __name__ == "__main__":
    raise SystemExit(main())
