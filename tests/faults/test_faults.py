"""Fault tolerance on the real stack: every expected effect exactly once through kills, outages and rebalances."""

from __future__ import annotations

import pytest

import faults_scenarios as faults
from faults_harness import Harness

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]


async def assert_exactly_once(harness: Harness, scenario: str, repetitions: int, fault) -> None:
    """Run the scenario and fail with what was lost or doubled."""
    row, verdict = await harness.run(scenario, repetitions, fault)
    assert row.fed > 0
    assert verdict.lost_count == 0 and verdict.doubled_count == 0, verdict.describe()


async def test_services_killed_mid_stream(harness: Harness) -> None:
    await assert_exactly_once(harness, "SIGKILL a service mid-stream", harness.size.kills, faults.kill_services)


async def test_broker_stopped_and_restarted_under_load(harness: Harness) -> None:
    await assert_exactly_once(harness, "Kafka broker down 10-30 s", harness.size.broker_bounces, faults.bounce_broker)


async def test_database_killed_for_thirty_seconds(harness: Harness) -> None:
    await assert_exactly_once(harness, "FerretDB killed 30 s", harness.size.db_outages, faults.database_outage)


async def test_rebalance_under_load(harness: Harness) -> None:
    await assert_exactly_once(harness, "second replica started and stopped", harness.size.rebalances,
                              faults.rebalance)


async def test_slow_handlers_cause_no_commit_failures(harness: Harness) -> None:
    await assert_exactly_once(harness, "slow handlers", 1, faults.slow_handlers)
