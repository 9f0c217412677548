"""Command line of the local stack: up, down, status and prepare."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from clientbase.stack.errors import PortInUseError, StackError
from clientbase.stack.stack import LocalStack
from clientbase.stack.topics import create_registry_topics

EXIT_FAILED = 1
EXIT_PORT_IN_USE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clientbase-stack",
        description="Run Kafka, FerretDB (on PostgreSQL or SQLite) and Mailpit on 127.0.0.1 for development and "
                    "tests, without Docker.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="fetch the Kafka jars and build FerretDB and Mailpit into the cache")
    commands.add_parser("up", help="start the stack (reusing what runs) and create the topics")
    commands.add_parser("down", help="stop the stack")
    create = commands.add_parser("create-topics", help="create the registry's topics on any Kafka cluster")
    create.add_argument("--bootstrap-servers", required=True, help="host:port list of the cluster")
    status = commands.add_parser("status", help="show pid, port and health of each server")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    return parser


def _print_status(report: dict[str, dict[str, object]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for name, entry in report.items():
        state = "running" if entry["running"] else "stopped"
        health = "answering" if entry["answering"] else "not answering"
        pid = entry["pid"] if entry["pid"] is not None else "-"
        print(f"{name}: {state}, {health}, pid {pid}, port {entry['port']}, log {entry['log']}")


def run(arguments: argparse.Namespace) -> int:
    """Carry out one parsed command and return the exit code."""
    if arguments.command == "create-topics":
        created = create_registry_topics(arguments.bootstrap_servers)
        print(f"created {len(created)} topics" + (": " + ", ".join(created) if created else ""))
        return 0
    stack = LocalStack.from_env()
    if arguments.command == "prepare":
        stack.prepare()
    elif arguments.command == "up":
        endpoints = stack.up()
        print(f"KAFKA_BOOTSTRAP_SERVERS={endpoints.kafka_bootstrap}")
        print(f"MONGO_URL={endpoints.mongo_url}")
        print(f"SMTP_HOST={endpoints.smtp_host}")
        print(f"SMTP_PORT={endpoints.smtp_port}")
        print(f"MAILPIT_URL={endpoints.mailpit_url}")
        if endpoints.postgres_url is not None:
            print(f"POSTGRES_URL={endpoints.postgres_url}")
    elif arguments.command == "down":
        stack.down()
    else:
        report = stack.status()
        _print_status(report, arguments.json)
        return 0 if all(entry["answering"] for entry in report.values()) else EXIT_FAILED
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clientbase-stack` and `python -m clientbase.stack`."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return run(arguments)
    except PortInUseError as error:
        logging.getLogger("clientbase.stack").error("%s", error)
        return EXIT_PORT_IN_USE
    except StackError as error:
        logging.getLogger("clientbase.stack").error("%s", error)
        return EXIT_FAILED
