"""The stack's servers for each backend: which run, in which order, with which command lines and endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from clientbase.stack import LocalStack, StackConfig

BACKEND_ENV = "CLIENTBASE_MONGO_BACKEND"


def stack(tmp_path: Path, backend: str) -> LocalStack:
    """A stack on fixed ports that is never started."""
    return LocalStack(StackConfig(
        state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", kafka_port=19092, kafka_controller_port=19093,
        mongo_port=37017, postgres_port=15433, smtp_port=11025, mailpit_port=18025, mongo_backend=backend,
    ))


def test_postgresql_backend_starts_postgres_first_and_alone(tmp_path: Path) -> None:
    servers = stack(tmp_path, "postgresql").servers

    assert [server.name for server in servers] == ["postgres", "ferretdb", "kafka", "mailpit"]
    assert [server.start_alone for server in servers] == [True, False, False, False]


def test_sqlite_backend_runs_no_postgres(tmp_path: Path) -> None:
    assert [server.name for server in stack(tmp_path, "sqlite").servers] == ["ferretdb", "kafka", "mailpit"]


def test_ferretdb_on_postgresql_gets_the_url_without_the_password(tmp_path: Path) -> None:
    local = stack(tmp_path, "postgresql")
    local.config.conf_dir.mkdir(parents=True)
    local.postgres.password_file.write_text("s3cret\n")

    command = local.ferretdb.command()

    assert command[command.index("-handler") + 1] == "postgresql"
    assert command[command.index("-postgresql-url") + 1] == "postgres://postgres@127.0.0.1:15433/ferretdb?pool_max_conns=200"
    assert "s3cret" not in " ".join(command)
    assert local.endpoints.postgres_url == "postgres://postgres:s3cret@127.0.0.1:15433/ferretdb"
    assert str(local.ferretdb.data_dir) in command


def test_ferretdb_on_sqlite_keeps_its_data_in_the_state_directory(tmp_path: Path) -> None:
    local = stack(tmp_path, "sqlite")

    command = local.ferretdb.command()

    assert command[command.index("-handler") + 1] == "sqlite"
    assert command[command.index("-sqlite-dir") + 1] == str(tmp_path / "state" / "data" / "ferretdb")
    assert "-postgresql-url" not in command
    assert local.endpoints.postgres_url is None


def test_mailpit_listens_on_loopback_and_is_an_endpoint(tmp_path: Path) -> None:
    local = stack(tmp_path, "postgresql")

    command = local.mailpit.command()

    assert command[command.index("--smtp") + 1] == "127.0.0.1:11025"
    assert command[command.index("--listen") + 1] == "127.0.0.1:18025"
    assert (local.endpoints.smtp_host, local.endpoints.smtp_port) == ("127.0.0.1", 11025)
    assert local.endpoints.mailpit_url == "http://127.0.0.1:18025"


def test_build_inputs_pin_the_versions(tmp_path: Path) -> None:
    local = stack(tmp_path, "postgresql")

    assert local.ferretdb.version().startswith("v1.24.")
    assert local.mailpit.version().startswith("v1.")
    assert local.mailpit.cache_entry().directory.parent == tmp_path / "cache"
    assert local.mailpit.cache_entry().directory.name.startswith(f"mailpit-{local.mailpit.version()}-")


def test_ephemeral_stacks_use_the_default_backend_on_distinct_free_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(BACKEND_ENV, raising=False)

    config = LocalStack.ephemeral(tmp_path).config

    ports = [config.kafka_port, config.kafka_controller_port, config.mongo_port, config.postgres_port,
             config.smtp_port, config.mailpit_port]
    assert config.mongo_backend == "postgresql"
    assert len(set(ports)) == 6
