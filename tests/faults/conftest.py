"""A stack and a system of their own for the fault scenarios, which kill and stop parts of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from clientbase.stack import LocalStack
from clientbase.system.observer import Observer
from clientbase.testing.system_run import RunningSystem, running_system
from faults_harness import Harness, chosen_size, table

SYSTEM_ENV = {
    "NOTIFY_QUIET_START": "00:00", "NOTIFY_QUIET_END": "00:00",  # an always-open send window
    "NOTIFY_SCHEDULER_INTERVAL_S": "1", "NOTIFY_RECIPIENT_RETRY_S": "1",
    "CONSUMER_BACKOFF_MAX_S": "2",  # back to work soon after an outage ends
    # Eight processes at most (a replica each) stay well below FerretDB's pool of PostgreSQL connections together.
    "MONGO_MAX_POOL_SIZE": "10",
    "CONSUMER_SESSION_TIMEOUT_MS": "10000", "CONSUMER_HEARTBEAT_INTERVAL_MS": "1000",
}
REPORT_KEY = pytest.StashKey[Harness]()


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Kafka, FerretDB on PostgreSQL and Mailpit on free ports with state under the base temp dir, for faults only."""
    stack = LocalStack.ephemeral(tmp_path_factory.mktemp("faults-stack"))
    try:
        stack.prepare()
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="module")
def fault_system(fault_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The four services as processes on the fault stack, under a topic prefix of their own."""
    with running_system(fault_stack.endpoints, Path(tmp_path_factory.mktemp("faults-system")), SYSTEM_ENV,
                        name="faults") as system:
        yield system


@pytest.fixture(scope="module")
async def harness(fault_stack: LocalStack, fault_system: RunningSystem,
                  request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """The scenarios' shared harness; its table goes to the terminal summary and a file under the base temp dir."""
    observer = Observer(fault_system.kafka_bootstrap, fault_system.prefix)
    await observer.start()
    h = Harness(fault_stack, fault_system, observer, chosen_size())
    request.config.stash[REPORT_KEY] = h
    try:
        yield h
    finally:
        await observer.stop()
        report = Path(request.config._tmp_path_factory.getbasetemp()) / "faults-table.md"  # noqa: SLF001
        report.write_text(table(h) + "\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the fault table of this run."""
    harness = config.stash.get(REPORT_KEY, None)
    if harness is not None and harness.rows:
        terminalreporter.section(f"fault scenarios ({harness.size.name} size)")
        terminalreporter.write_line(table(harness))
