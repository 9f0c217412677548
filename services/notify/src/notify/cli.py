"""Command line of the notify service: the local SMS sink, one campaign (dry run or queued), one retention run."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence

from clientbase.logging import configure_logging
from clientbase.retention import purge_once

from notify.app import SERVICE
from notify.campaigns.cli import add_command, run_campaign
from notify.retention import retention_limits
from notify.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command and run it."""
    parser = argparse.ArgumentParser(prog="clientbase-notify")
    commands = parser.add_subparsers(dest="command", required=True)
    sink = commands.add_parser("sms-sink", help="Run the local SMS sink (Twilio Messages API, SMS.ru /sms/send).")
    sink.add_argument("--host", default="127.0.0.1")
    sink.add_argument("--port", type=int, default=8026)
    add_command(commands)
    commands.add_parser("purge", help="Delete finished requests past NOTIFY_DELIVERY_LOG_RETENTION_DAYS once, and "
                        "print how many went.")
    args = parser.parse_args(argv)
    if args.command == "purge":
        settings = Settings()
        configure_logging(SERVICE, settings.logging)
        print(json.dumps(asyncio.run(purge_once(SERVICE, settings, retention_limits(settings)))))
    if args.command == "campaign":
        settings = Settings()
        configure_logging(SERVICE, settings.logging)
        print(json.dumps(asyncio.run(run_campaign(args, settings)), ensure_ascii=False))
    if args.command == "sms-sink":
        import uvicorn

        from notify.sink import SmsSink

        uvicorn.run(SmsSink(), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
