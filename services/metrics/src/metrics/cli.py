"""Command line of the metrics service: `rebuild`, `refresh`, `drop-generation`, `segments-pass` (`--help`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from clientbase.logging import configure_logging
from clientbase.runtime import ServiceRuntime

from metrics.app import SERVICE
from metrics.reader import HistoryReader
from metrics.rebuild import Rebuilder
from metrics.repository import INDEXES, MetricsRepository
from metrics.rollups import Refresher
from metrics.segments_wiring import build_segmenter
from metrics.settings import Settings


def instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give the offset, e.g. 2026-11-28T00:00:00+00:00")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `clientbase-metrics`."""
    parser = argparse.ArgumentParser(prog="clientbase-metrics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("rebuild", help="replay the topics from the beginning into a new generation of collections, "
                        "then switch readers to it atomically (the running service keeps going meanwhile)")
    commands.add_parser("refresh", help="rewrite the active generation's rollup documents now")
    drop = commands.add_parser("drop-generation", help="drop the collections of a generation no longer in use")
    drop.add_argument("generation", type=int)
    segments = commands.add_parser("segments-pass", help="judge every client's segment again as of an instant and "
                                   "publish the changes to clients.segmented (the service runs it daily)")
    segments.add_argument("--as-of", type=instant, default=None,
                          help="ISO 8601 instant with offset (default: now)")
    return parser


async def run(command: argparse.Namespace, settings: Settings) -> dict[str, object]:
    """Run one command against the service's database (and Kafka for rebuild)."""
    runtime = ServiceRuntime(SERVICE, settings, indexes=INDEXES)
    await runtime.connect()
    try:
        repo = MetricsRepository(runtime.db)
        refresher = Refresher(repo, HistoryReader(repo), settings.zone(), settings.rules(), settings.rollup_interval_s)
        if command.command == "rebuild":
            return asdict(await Rebuilder(repo, refresher, settings.kafka, settings.topic_prefix).run())
        if command.command == "segments-pass":
            await runtime.broker.start()
            try:
                return asdict(await build_segmenter(runtime, settings).run_pass(command.as_of))
            finally:
                await runtime.broker.stop()
        if command.command == "refresh":
            return {"basis": await refresher.refresh()}
        await repo.drop_generation(command.generation)
        return {"dropped": command.generation}
    finally:
        await runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clientbase-metrics`."""
    command = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(SERVICE, settings.logging)
    report = asyncio.run(run(command, settings))
    print(json.dumps(report))
    return 0 if report.get("switched", True) else 1


if __name__ == "__main__":
    sys.exit(main())
