"""Runs the four services as separate processes against the real stack for end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clientbase.testing.system_run import RunningSystem, running_system as start_system


@pytest.fixture(scope="module")
def system_env() -> dict[str, str]:
    """Extra settings of the services of a module's system (a module overrides this fixture to set some)."""
    return {}


@pytest.fixture(scope="module")
def running_system(stack_endpoints, tmp_path_factory: pytest.TempPathFactory,
                   system_env: dict[str, str]) -> Iterator[RunningSystem]:
    """Start intake, rotation, notify and metrics as processes on free ports, with their own databases.

    The run has topics of its own (the public names under a prefix of the run), so the services see only
    what the run feeds them, whatever other tests left on the public topics. Module scope: each module
    gets a fresh system.
    """
    with start_system(stack_endpoints, tmp_path_factory.mktemp("system"), system_env) as system:
        yield system
