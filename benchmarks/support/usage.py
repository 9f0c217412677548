"""CPU seconds and peak RSS of running processes (and their children), read from /proc."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    """CPU seconds used so far and the peak resident memory of one process tree."""

    cpu_s: float
    peak_rss_mb: float


def _children(pid: int) -> list[int]:
    """Direct children of a process."""
    found = []
    for task in (PROC / str(pid) / "task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            continue
    return found


def _own(pid: int) -> Usage:
    """One process's CPU seconds (user + system) and peak RSS (VmHWM)."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return Usage(0.0, 0.0)
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return Usage(cpu, hwm / 1024)


def usage_of(pid: int) -> Usage:
    """CPU seconds of a process and its descendants, and the largest peak RSS among them."""
    total, peak, pending = 0.0, 0.0, [pid]
    while pending:
        current = pending.pop()
        own = _own(current)
        total, peak = total + own.cpu_s, max(peak, own.peak_rss_mb)
        pending += _children(current)
    return Usage(total, peak)
