"""Loads the shared fixtures that start the real local stack, refuses skipped tests in CI and times each tier."""

from __future__ import annotations

import os
from collections import defaultdict

import pytest

pytest_plugins = ["clientbase.testing.stack_fixtures"]

# Services built in the test process seal and open personal fields with this master key (the launcher makes
# a random one per run for services started as processes).
os.environ.setdefault("KEYVAULT_MASTER_KEY", "test-master-key-not-for-production")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failed run: no tier may be silently left out."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) skipped; every tier must run", red=True)
        session.exitstatus = 1


# Seconds each tier may take on two cores, so the whole run stays under 30 minutes.
TIER_BUDGETS_S = {"unit": 120, "component": 120, "integration": 600, "browser": 300, "e2e": 480, "faults": 480}


def tier_of(nodeid: str) -> str:
    """The tier of a test: the first directory under tests/."""
    parts = nodeid.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else parts[0].split("::")[0]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print each tier's wall time (setup, call and teardown of its tests, fixtures included) against its budget."""
    seconds: dict[str, float] = defaultdict(float)
    for reports in terminalreporter.stats.values():
        for report in reports:
            if isinstance(report, pytest.TestReport):
                seconds[tier_of(report.nodeid)] += report.duration
    if seconds:
        terminalreporter.section("time per tier")
        for tier, spent in sorted(seconds.items(), key=lambda item: -item[1]):
            budget = TIER_BUDGETS_S.get(tier)
            over = budget is not None and spent > budget
            terminalreporter.write_line(f"{tier:<12} {spent:8.1f} s" + (f"  (budget {budget} s{', over' if over else ''})"
                                                                       if budget else ""), red=over)
        terminalreporter.write_line(f"{'total':<12} {sum(seconds.values()):8.1f} s")
