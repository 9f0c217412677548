"""Command line of the intake service: `clientbase-intake replay` re-ingests quarantined inputs after a rule fix."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence

from clientbase import topics
from clientbase.logging import configure_logging
from clientbase.runtime import ServiceRuntime

from intake.app import SERVICE, build_service
from intake.repository import INDEXES
from intake.settings import Settings


async def replay(settings: Settings, topic_name: str | None, limit: int) -> dict[str, int]:
    """Connect, replay quarantined items through the current rules, and disconnect."""
    runtime = ServiceRuntime(SERVICE, settings, indexes=INDEXES)
    await runtime.connect()
    await runtime.broker.connect()
    try:
        service = build_service(runtime, settings)
        return await service.replay(topics.topic_named(topic_name) if topic_name else None, limit)
    finally:
        await runtime.broker.stop()
        await runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clientbase-intake`."""
    parser = argparse.ArgumentParser(prog="clientbase-intake", description="Intake service tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    replay_cmd = commands.add_parser("replay", help="Re-ingest quarantined inputs with the current rules.")
    replay_cmd.add_argument("--topic", choices=[t.name for t in (topics.LEADS_FORM_SUBMITTED,
                                                                 topics.LEADS_CALL_RECEIVED, topics.SALES_RECORDED)],
                            help="Only items that came from this topic.")
    replay_cmd.add_argument("--limit", type=int, default=1000, help="Most items to replay in this run.")
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(SERVICE, settings.logging)
    counts = asyncio.run(replay(settings, args.topic, args.limit))
    print(json.dumps(counts))
    return 0
