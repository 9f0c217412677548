"""Loads the shared fixtures that start the real local stack, and refuses skipped tests in CI."""

from __future__ import annotations

import os

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
