"""Command line that runs the whole system locally: stack, four services and a demo feed."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from clientbase.stack.config import find_repo_root
from clientbase.stack.errors import PortInUseError, StackError
from clientbase.stack.stack import LocalStack, StackEndpoints
from clientbase.system.demo import play_demo
from clientbase.system.feed import feed
from clientbase.system.launcher import SystemLauncher
from clientbase.system.secrets import secrets_file
from clientbase.system.summary import collection_counts

log = logging.getLogger("clientbase.system")

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clientbase-system", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start everything, play the demo company's history, then show status and results")
    run.add_argument("--samples", type=Path, default=None, help="directory of demo .jsonl files")
    run.add_argument("--persons", type=int, default=60, help="leads in the demo company's history")
    run.add_argument("--day-seconds", type=float, default=0.1, help="real seconds per simulated day")
    commands.add_parser("up", help="start the stack and the four services")
    commands.add_parser("down", help="stop the four services and the stack")
    commands.add_parser("status", help="show each server and each service's /ready")
    feed_cmd = commands.add_parser("feed", help="publish the demo events")
    feed_cmd.add_argument("--samples", type=Path, default=None, help="directory of demo .jsonl files")
    feed_cmd.add_argument("--bootstrap-servers", default=None, help="Kafka to publish to (default: $KAFKA_BOOTSTRAP_SERVERS, else the local stack)")
    return parser


def _samples_dir(arg: Path | None) -> Path:
    return arg or find_repo_root() / "deploy" / "demo"


def _print_status(stack: LocalStack, launcher: SystemLauncher) -> bool:
    healthy = True
    for name, entry in stack.status().items():
        healthy &= bool(entry["answering"])
        print(f"{name:<9} {'answering' if entry['answering'] else 'DOWN':<10} pid {entry['pid']}  port {entry['port']}")
    for service in launcher.status():
        healthy &= service.ready_status == 200
        print(f"{service.name:<9} /ready {service.ready_status}  pid {service.pid}  port {service.port}  "
              f"{service.ready_body}")
    return healthy


def _print_where_to_look(endpoints: StackEndpoints, launcher: SystemLauncher) -> None:
    metrics = next(spec for spec in launcher.services if spec.name == "metrics")
    print(f"mail captured by Mailpit: {endpoints.mailpit_url}/api/v1/messages")
    print(f"SMS captured by the sink: {launcher.sms_sink_url}/messages")
    print(f"metrics read API: http://127.0.0.1:{metrics.port}/metrics/retention?period=month&from=2026-01-01&to=2026-12-01 "
          f"(bearer token: METRICS_API_TOKEN in {secrets_file(launcher.config.state_dir)})")
    print(f"dashboard: http://127.0.0.1:{metrics.port}/dashboard (log in with METRICS_API_TOKEN)")
    print("the services and the stack, at any time: make status")


def _print_results(mongo_url: str) -> None:
    for database, counts in collection_counts(mongo_url).items():
        shown = ", ".join(f"{name}={count}" for name, count in counts.items()) or "(nothing stored yet)"
        print(f"{database}: {shown}")


def run(arguments: argparse.Namespace) -> int:
    """Carry out one command and return the exit code."""
    stack = LocalStack.from_env()
    launcher = SystemLauncher(stack.config)
    if arguments.command in {"run", "up"}:
        stack.prepare()
        endpoints = stack.up()
        launcher.up(endpoints)
        if arguments.command == "run":
            counts = feed(endpoints.kafka_bootstrap, _samples_dir(arguments.samples))
            print("sample leads published: " + ", ".join(f"{t}={n}" for t, n in counts.items()))
            play_demo(endpoints, launcher, persons=arguments.persons, day_seconds=arguments.day_seconds)
            _print_results(endpoints.mongo_url)
        healthy = _print_status(stack, launcher)
        _print_where_to_look(endpoints, launcher)
        print(f"logs: {stack.config.logs_dir}   stop with: make down")
        return 0 if healthy else 1
    if arguments.command == "down":
        launcher.down()
        stack.down()
        return 0
    if arguments.command == "feed":
        bootstrap = (arguments.bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
                     or stack.endpoints.kafka_bootstrap)
        counts = feed(bootstrap, _samples_dir(arguments.samples))
        print("demo feed published: " + ", ".join(f"{t}={n}" for t, n in counts.items()))
        return 0
    return 0 if _print_status(stack, launcher) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clientbase-system`."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)  # the demo's live table says what happens
    try:
        return run(_parser().parse_args(argv))
    except PortInUseError as error:
        log.error("%s", error)
        return 2
    except StackError as error:
        log.error("%s", error)
        return 1
