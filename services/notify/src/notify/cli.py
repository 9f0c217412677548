"""Command line of the notify service: `clientbase-notify sms-sink --port N` runs the local SMS sink."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command and run it."""
    parser = argparse.ArgumentParser(prog="clientbase-notify")
    commands = parser.add_subparsers(dest="command", required=True)
    sink = commands.add_parser("sms-sink", help="Run the local SMS sink (Twilio Messages API, SMS.ru /sms/send).")
    sink.add_argument("--host", default="127.0.0.1")
    sink.add_argument("--port", type=int, default=8026)
    args = parser.parse_args(argv)
    if args.command == "sms-sink":
        import uvicorn

        from notify.sink import SmsSink

        uvicorn.run(SmsSink(), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
