"""Runs a coroutine to completion from synchronous code, even when the caller's thread has a running loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(make_coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine made by `make_coroutine` on a fresh event loop and return its result."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(lambda: asyncio.run(make_coroutine())).result()
