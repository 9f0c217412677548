"""Command line of the intake service: `replay` re-ingests quarantined inputs after a rule fix; `export` answers a
subject access request with one JSON document from every service."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence

from clientbase import topics
from clientbase.crypto.wiring import runtime_vault
from clientbase.logging import configure_logging
from clientbase.retention import purge_once
from clientbase.runtime import ServiceRuntime

from intake.app import SERVICE, build_service
from intake.export import export_client
from intake.repository import INDEXES
from intake.retention import retention_limits
from intake.settings import Settings
from intake.shredding import forget


async def replay(settings: Settings, topic_name: str | None, limit: int) -> dict[str, int]:
    """Connect, replay quarantined items through the current rules, and disconnect."""
    runtime = ServiceRuntime(SERVICE, settings, indexes=INDEXES)
    vault = runtime_vault(runtime, settings.keyvault)
    vault.require()
    await runtime.connect()
    await runtime.broker.connect()
    try:
        service = build_service(runtime, settings, vault)
        return await service.replay(topics.topic_named(topic_name) if topic_name else None, limit)
    finally:
        await runtime.broker.stop()
        await runtime.close()


async def forget_keys(settings: Settings, client_ids: Sequence[str]) -> dict[str, int]:
    """Connect, destroy the data keys of the clients and of the clients merged into them, and disconnect."""
    runtime = ServiceRuntime(SERVICE, settings, indexes=INDEXES)
    vault = runtime_vault(runtime, settings.keyvault)
    vault.require()
    await runtime.connect()
    try:
        return {"keys_destroyed": await forget(vault, runtime.db, runtime.reads, client_ids)}
    finally:
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
    export_cmd = commands.add_parser("export", help="Write one JSON document of a client's data in every service.")
    export_cmd.add_argument("client_id", help="The client whose data is exported.")
    export_cmd.add_argument("--output", "-o", help="File to write (default: standard output).")
    export_cmd.add_argument("--requested-by", default="clientbase-intake export", help="Who asks, for the audit.")
    export_cmd.add_argument("--legal-basis", help="Why, for the audit (e.g. gdpr-art-15).")
    forget_cmd = commands.add_parser("forget", help="Destroy clients' data keys: their sealed event fields become "
                                     "unreadable everywhere (crypto-shredding).")
    forget_cmd.add_argument("client_ids", nargs="+", metavar="CLIENT_ID")
    commands.add_parser("purge", help="Delete quarantined inputs past INTAKE_QUARANTINE_RETENTION_DAYS once, "
                        "and print how many went.")
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(SERVICE, settings.logging)
    if args.command == "export":
        return write_export(settings, args)
    if args.command == "forget":
        counts = asyncio.run(forget_keys(settings, args.client_ids))
    elif args.command == "purge":
        counts = asyncio.run(purge_once(SERVICE, settings, retention_limits(settings)))
    else:
        counts = asyncio.run(replay(settings, args.topic, args.limit))
    print(json.dumps(counts))
    return 0


def write_export(settings: Settings, args: argparse.Namespace) -> int:
    """Run `export`: 0 when every service answered, 1 when the document is incomplete."""
    document = asyncio.run(export_client(settings, args.client_id, args.requested_by, args.legal_basis))
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        print(text, end="")
    return 0 if document["complete"] else 1
