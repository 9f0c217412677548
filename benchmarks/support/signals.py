"""Turns SIGTERM and SIGHUP into a normal exit, so a stopped benchmark still stops the stack it started."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _exit(signum: int, _frame: FrameType | None) -> None:
    """Leave through SystemExit, which runs every `finally` and context manager on the way out."""
    sys.exit(128 + signum)


@contextmanager
def exit_cleanly_on_stop() -> Iterator[None]:
    """While inside, a stopping signal exits the way Ctrl-C does (cleanups run); the old handlers come back after."""
    previous = {sig: signal.signal(sig, _exit) for sig in STOPPING_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
