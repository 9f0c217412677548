"""The stack's configuration comes from CLIENTBASE_* variables with repository-relative defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from clientbase.stack import StackConfig, StackError
from clientbase.stack.config import find_repo_root

VARIABLES = (
    "CLIENTBASE_STATE_DIR", "CLIENTBASE_CACHE_DIR", "CLIENTBASE_KAFKA_PORT",
    "CLIENTBASE_KAFKA_CONTROLLER_PORT", "CLIENTBASE_MONGO_PORT", "CLIENTBASE_POSTGRES_PORT",
    "CLIENTBASE_SMTP_PORT", "CLIENTBASE_MAILPIT_PORT", "CLIENTBASE_MONGO_BACKEND", "CLIENTBASE_POSTGRES_USER",
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
    assert (config.postgres_port, config.smtp_port, config.mailpit_port) == (5433, 1025, 8025)
    assert (config.mongo_backend, config.uses_postgres, config.postgres_user) == ("postgresql", True, "postgres")
    assert config.deploy_dir == root / "deploy" / "local"


def test_variables_override_directories_and_ports(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("CLIENTBASE_STATE_DIR", str(tmp_path / "state"))
    clean_env.setenv("CLIENTBASE_CACHE_DIR", str(tmp_path / "cache"))
    clean_env.setenv("CLIENTBASE_KAFKA_PORT", "19092")
    clean_env.setenv("CLIENTBASE_KAFKA_CONTROLLER_PORT", "19093")
    clean_env.setenv("CLIENTBASE_MONGO_PORT", "37017")
    clean_env.setenv("CLIENTBASE_POSTGRES_PORT", "15433")
    clean_env.setenv("CLIENTBASE_SMTP_PORT", "11025")
    clean_env.setenv("CLIENTBASE_MAILPIT_PORT", "18025")
    clean_env.setenv("CLIENTBASE_POSTGRES_USER", "pgrunner")

    config = StackConfig.from_env()

    assert (config.state_dir, config.cache_dir) == (tmp_path / "state", tmp_path / "cache")
    assert (config.kafka_port, config.kafka_controller_port, config.mongo_port) == (19092, 19093, 37017)
    assert (config.postgres_port, config.smtp_port, config.mailpit_port) == (15433, 11025, 18025)
    assert config.postgres_user == "pgrunner"


def test_sqlite_backend_is_chosen_by_one_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CLIENTBASE_MONGO_BACKEND", "SQLite")

    config = StackConfig.from_env()

    assert (config.mongo_backend, config.uses_postgres) == ("sqlite", False)


def test_an_unknown_backend_is_refused_naming_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CLIENTBASE_MONGO_BACKEND", "mysql")

    with pytest.raises(StackError, match="CLIENTBASE_MONGO_BACKEND='mysql'.*postgresql, sqlite"):
        StackConfig.from_env()


def test_relative_directories_become_absolute(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.chdir(tmp_path)
    clean_env.setenv("CLIENTBASE_STATE_DIR", "state")

    assert StackConfig.from_env().state_dir == tmp_path / "state"


@pytest.mark.parametrize("variable", ["CLIENTBASE_MONGO_PORT", "CLIENTBASE_POSTGRES_PORT", "CLIENTBASE_SMTP_PORT"])
@pytest.mark.parametrize("value", ["kafka", "0", "70000"])
def test_a_bad_port_is_refused_naming_the_variable(clean_env: pytest.MonkeyPatch, variable: str, value: str) -> None:
    clean_env.setenv(variable, value)

    with pytest.raises(StackError, match=variable):
        StackConfig.from_env()
