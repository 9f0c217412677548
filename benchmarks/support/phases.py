"""Runs one measured phase in a fresh process, so CPU seconds, peak memory and request counts are its own."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

WATCHED_LOGGERS = ("aiokafka", "faststream", "intake.kafka", "rotation.kafka", "notify.kafka", "metrics.kafka")
Phase = Callable[..., Awaitable[tuple[int, float]]]


class CommitFailures(logging.Handler):
    """Counts log records that report a failed offset commit (a consumer evicted by a rebalance)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count one record if it reports a failed commit."""
        if "CommitFailedError" in record.getMessage() or (
                record.exc_info and record.exc_info[0] and record.exc_info[0].__name__ == "CommitFailedError"):
            self.count += 1


def _child(phase: Phase, kwargs: dict[str, Any], results: Any) -> None:
    from benchmarks.support.counters import install

    mongo, kafka = install()
    commit_failures = CommitFailures()
    for name in WATCHED_LOGGERS:  # the service's own setup replaces the root handlers, not these
        logging.getLogger(name).addHandler(commit_failures)
    started_cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    try:
        events, seconds = asyncio.run(phase(**kwargs))
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        results.put({"error": f"{type(error).__name__}: {error}"})
        raise
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - started_cpu.ru_utime - started_cpu.ru_stime
    results.put({"events": events, "seconds": seconds, "wall_s": time.perf_counter() - started, "cpu_s": cpu,
                 "peak_rss_mb": usage.ru_maxrss / 1024, "commit_failures": commit_failures.count,
                 **mongo.totals(), **kafka.totals()})


def run_phase(phase: Phase, **kwargs: Any) -> dict[str, Any]:
    """Run `phase(**kwargs)` -> (events, seconds) in a new process; return its figures per event too."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_child, args=(phase, kwargs, results))
    process.start()
    try:
        figures = results.get()
    except BaseException:  # stopped while waiting: the phase stops too
        process.terminate()
        process.join()
        raise
    process.join()
    if "error" in figures:
        raise RuntimeError(figures["error"])
    events = max(figures["events"], 1)
    figures["events_per_s"] = figures["events"] / figures["seconds"] if figures["seconds"] else 0.0
    for name in ("mongo_reads", "mongo_writes", "kafka_requests", "kafka_produce", "kafka_fetch"):
        figures[f"{name}_per_event"] = figures[name] / events
    return figures
