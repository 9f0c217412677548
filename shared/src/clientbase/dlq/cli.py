"""`clientbase-dlq`: list dead-letter topics, show their letters with personal data masked, replay them once.

    clientbase-dlq list [TOPIC]                       counts per dead-letter topic, oldest and newest
    clientbase-dlq show TOPIC [--offset N]            headers and payload, personal data masked
    clientbase-dlq replay TOPIC (--offset N | --all) [--dry-run]

TOPIC is a dead-letter topic or its origin (`sales.recorded` means `sales.recorded.dlq`). Kafka is reached
with the services' KAFKA_* settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TextIO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from clientbase.dlq.letters import DeadLetter, DeadLetters, dlq_name
from clientbase.dlq.replay import Replayer, ensure_replay_log, replayed_refs
from clientbase.kafka.broker import client_options
from clientbase.settings import KafkaSettings

PROGRESS_FROM = 20  # replays of fewer letters print no progress bar


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `clientbase-dlq`."""
    parser = argparse.ArgumentParser(prog="clientbase-dlq", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="counts per dead-letter topic, or the letters of one topic")
    listing.add_argument("topic", nargs="?")
    show = commands.add_parser("show", help="headers and payload of letters, personal data masked")
    show.add_argument("topic")
    show.add_argument("--offset", type=int, default=None, help="only the letter at this offset")
    show.add_argument("--partition", type=int, default=None, help="partition of --offset (default: every one)")
    show.add_argument("--limit", type=int, default=20, help="most letters shown without --offset")
    replay = commands.add_parser("replay", help="republish letters to their origin topic, each one once")
    replay.add_argument("topic")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--offset", type=int, help="only the letter at this offset")
    which.add_argument("--all", action="store_true", help="every letter of the topic")
    replay.add_argument("--partition", type=int, default=None, help="partition of --offset (default: every one)")
    replay.add_argument("--dry-run", action="store_true", help="say what would be replayed, publish nothing")
    return parser


@dataclass
class Clients:
    """The Kafka clients a command uses, started together."""

    letters: DeadLetters
    consumer: AIOKafkaConsumer
    producer: AIOKafkaProducer
    admin: AIOKafkaAdminClient


@asynccontextmanager
async def connected(settings: KafkaSettings) -> AsyncIterator[Clients]:
    """A group-less consumer (it never commits), an idempotent producer and an admin client."""
    options = client_options(settings)
    consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, client_id="clientbase-dlq", **options)
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, client_id="clientbase-dlq", **options)
    admin = AIOKafkaAdminClient(client_id="clientbase-dlq", **options)
    await asyncio.gather(consumer.start(), producer.start(), admin.start())
    try:
        yield Clients(DeadLetters(consumer, admin), consumer, producer, admin)
    finally:
        await asyncio.gather(consumer.stop(), producer.stop(), admin.close())


async def list_topics(clients: Clients, topic: str | None, console: Console) -> int:
    """Counts per dead-letter topic (every one, or the one named, then its letters)."""
    names = [dlq_name(topic)] if topic else await clients.letters.topics()
    table = Table("dead-letter topic", "letters", "oldest", "newest")
    for name in names:
        s = await clients.letters.summary(name)
        if s.count or topic:
            table.add_row(name, str(s.count), s.oldest.isoformat() if s.oldest else "-",
                          s.newest.isoformat() if s.newest else "-")
    console.print(table)
    if topic:
        letters = Table("partition", "offset", "dead-lettered at", "error", "attempts", "group")
        async for letter in clients.letters.read(dlq_name(topic)):
            letters.add_row(str(letter.partition), str(letter.offset), letter.dead_lettered_at.isoformat(),
                            letter.masked()["headers"].get("x-dlq-error-type") or "-",
                            letter.header("x-dlq-attempts") or "-", letter.header("x-dlq-consumer-group") or "-")
        console.print(letters)
    return 0


async def show(clients: Clients, args: argparse.Namespace, out: TextIO) -> int:
    """Print letters as JSON, masked."""
    shown = 0
    async for letter in clients.letters.read(dlq_name(args.topic), partition=args.partition, offset=args.offset):
        print(json.dumps(letter.masked(), ensure_ascii=False, indent=2), file=out)
        shown += 1
        if args.offset is None and shown >= args.limit:
            break
    return 0 if shown else 1


async def replay(clients: Clients, args: argparse.Namespace, console: Console) -> int:
    """Republish the chosen letters once each, with a progress bar for long replays."""
    topic = dlq_name(args.topic)
    letters: list[DeadLetter] = [letter async for letter in clients.letters.read(
        topic, partition=args.partition, offset=None if args.all else args.offset)]
    if not letters:
        console.print(f"no dead letters in {topic}" + ("" if args.all else f" at offset {args.offset}"))
        return 1
    await ensure_replay_log(clients.admin)
    replayer = Replayer(clients.producer, await replayed_refs(clients.consumer))
    with Progress(console=console, disable=len(letters) < PROGRESS_FROM or console.quiet) as progress:
        task = progress.add_task(f"replaying {topic}", total=len(letters))
        report = await replayer.replay(letters, dry_run=args.dry_run,
                                       advance=lambda letter: progress.advance(task))
    verb = "would replay" if report.dry_run else "replayed"
    console.print(f"{verb} {len(report.replayed)} letter(s) of {topic} to {letters[0].origin_topic}; "
                  f"{len(report.already)} replayed before and skipped")
    return 0


async def run(argv: Sequence[str], settings: KafkaSettings | None = None, out: TextIO = sys.stdout) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(list(argv))
    console = Console(file=out, width=160)
    async with connected(settings or KafkaSettings()) as clients:
        if args.command == "list":
            return await list_topics(clients, args.topic, console)
        if args.command == "show":
            return await show(clients, args, out)
        return await replay(clients, args, console)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clientbase-dlq`."""
    return asyncio.run(run(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
