"""The system benchmark's one table and its JSON file."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

COLUMNS = ("part", "what", "events", "events/s", "ratio", "mongo cmd/ev", "p50 ms", "p95 ms", "p99 ms", "cpu s",
           "peak RSS MB")


def row(part: str, what: str, *, events: float | None = None, rate: float | None = None, ratio: float | None = None,
        mongo_per_event: float | None = None, latency: dict[str, Any] | None = None, cpu_s: float | None = None,
        peak_rss_mb: float | None = None) -> dict[str, Any]:
    """One measurement as a table row (None: not measured for this row)."""
    latency = latency or {}
    return {"part": part, "what": what, "events": events, "events_per_s": rate, "ratio": ratio,
            "mongo_commands_per_event": mongo_per_event, "p50_ms": latency.get("p50_ms"),
            "p95_ms": latency.get("p95_ms"), "p99_ms": latency.get("p99_ms"), "cpu_s": cpu_s,
            "peak_rss_mb": peak_rss_mb}


def phase_row(part: str, what: str, figures: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any]:
    """A row of a phase measured by `run_phase`, with its rate as a ratio to the baseline's."""
    if "error" in figures:
        return row(part, f"{what}: failed, {figures['error'][:60]}")
    if baseline is not None and "error" in baseline:
        baseline = None
    return row(part, what, events=figures["events"], rate=figures["events_per_s"],
               ratio=figures["events_per_s"] / baseline["events_per_s"] if baseline else None,
               mongo_per_event=figures["mongo_reads_per_event"] + figures["mongo_writes_per_event"],
               cpu_s=figures["cpu_s"], peak_rss_mb=figures["peak_rss_mb"])


def _cell(value: Any, digits: int = 0) -> str:
    """A number as table text; an empty cell when not measured."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}"


def table(rows: list[dict[str, Any]], title: str) -> Table:
    """Every measurement in one table."""
    out = Table(title=title)
    for name in COLUMNS:
        out.add_column(name, justify="left" if name in ("part", "what") else "right")
    for r in rows:
        out.add_row(r["part"], r["what"], _cell(r["events"]), _cell(r["events_per_s"], 1), _cell(r["ratio"], 3),
                    _cell(r["mongo_commands_per_event"], 3), _cell(r["p50_ms"]), _cell(r["p95_ms"]),
                    _cell(r["p99_ms"]), _cell(r["cpu_s"], 1), _cell(r["peak_rss_mb"]))
    return out


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def write(path: Path, rows: list[dict[str, Any]], settings: dict[str, Any], details: dict[str, Any]) -> Path:
    """Save the rows, the sizes they were measured at and the raw figures as JSON; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                                "settings": settings, "rows": rows, "details": details}, indent=2, default=str))
    return path
