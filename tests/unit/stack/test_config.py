"""The stack's configuration comes from CLIENTBASE_* variables with repository-relative defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from clientbase.stack import StackConfig, StackError
from clientbase.stack.config import find_repo_root

VARIABLES = (
    "CLIENTBASE_STATE_DIR", "CLIENTBASE_CACHE_DIR", "CLIENTBASE_KAFKA_PORT",
    "CLIENTBASE_KAFKA_CONTROLLER_PORT", "CLIENTBASE_MONGO_PORT",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without any CLIENTBASE_* stack variable."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_state_lives_in_the_repository_and_builds_in_the_user_cache(clean_env: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path))
    config = StackConfig.from_env()
    root = find_repo_root()

    assert (config.state_dir, config.cache_dir) == (root / ".local" / "stack", tmp_path / "clientbase")
    assert (config.kafka_port, config.kafka_controller_port, config.mongo_port) == (9092, 9093, 27017)
    assert config.deploy_dir == root / "deploy" / "local"


def test_variables_override_directories_and_ports(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("CLIENTBASE_STATE_DIR", str(tmp_path / "state"))
    clean_env.setenv("CLIENTBASE_CACHE_DIR", str(tmp_path / "cache"))
    clean_env.setenv("CLIENTBASE_KAFKA_PORT", "19092")
    clean_env.setenv("CLIENTBASE_KAFKA_CONTROLLER_PORT", "19093")
    clean_env.setenv("CLIENTBASE_MONGO_PORT", "37017")

    config = StackConfig.from_env()

    assert (config.state_dir, config.cache_dir) == (tmp_path / "state", tmp_path / "cache")
    assert (config.kafka_port, config.kafka_controller_port, config.mongo_port) == (19092, 19093, 37017)


def test_relative_directories_become_absolute(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.chdir(tmp_path)
    clean_env.setenv("CLIENTBASE_STATE_DIR", "state")

    assert StackConfig.from_env().state_dir == tmp_path / "state"


@pytest.mark.parametrize("value", ["kafka", "0", "70000"])
def test_a_bad_port_is_refused_naming_the_variable(clean_env: pytest.MonkeyPatch, value: str) -> None:
    clean_env.setenv("CLIENTBASE_MONGO_PORT", value)

    with pytest.raises(StackError, match="CLIENTBASE_MONGO_PORT"):
        StackConfig.from_env()
