"""A port held by a foreign process is refused with a message naming the port and the variable to change."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from clientbase.stack import LocalStack, PortInUseError, StackConfig, free_port
from clientbase.stack.cli import EXIT_PORT_IN_USE, main
from clientbase.stack.ports import ensure_port_free, free_ports, port_accepts_connections, port_is_free


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A port on 127.0.0.1 with a listening socket that is not the stack's."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_free_port_is_free() -> None:
    assert port_is_free(free_port())


def test_only_a_listening_port_accepts_connections(occupied_port: int) -> None:
    assert port_accepts_connections(occupied_port)
    assert not port_accepts_connections(free_port())


def test_free_ports_are_distinct() -> None:
    ports = free_ports(3)
    assert len(set(ports)) == 3


def test_occupied_port_is_refused_naming_port_and_variable(occupied_port: int) -> None:
    with pytest.raises(PortInUseError) as refused:
        ensure_port_free(occupied_port, "CLIENTBASE_MONGO_PORT", "ferretdb")

    message = str(refused.value)
    assert f"port {occupied_port}" in message
    assert "CLIENTBASE_MONGO_PORT" in message
    assert "ferretdb" in message


def test_up_refuses_before_preparing_anything(tmp_path: Path, occupied_port: int) -> None:
    mongo_port, controller_port, postgres_port, smtp_port, mailpit_port = free_ports(5)
    config = StackConfig(
        state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", kafka_port=occupied_port,
        kafka_controller_port=controller_port, mongo_port=mongo_port, postgres_port=postgres_port,
        smtp_port=smtp_port, mailpit_port=mailpit_port,
    )

    with pytest.raises(PortInUseError) as refused:
        LocalStack(config).up()

    assert refused.value.env_var == "CLIENTBASE_KAFKA_PORT"
    assert not (tmp_path / "cache").exists()
    assert not list((tmp_path / "state" / "run").glob("*.pid"))


def test_cli_up_exits_2_when_a_port_is_taken(
    tmp_path: Path, occupied_port: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    kafka_port, controller_port, postgres_port, smtp_port, mailpit_port = free_ports(5)
    monkeypatch.setenv("CLIENTBASE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CLIENTBASE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CLIENTBASE_KAFKA_PORT", str(kafka_port))
    monkeypatch.setenv("CLIENTBASE_KAFKA_CONTROLLER_PORT", str(controller_port))
    monkeypatch.setenv("CLIENTBASE_MONGO_PORT", str(occupied_port))
    monkeypatch.setenv("CLIENTBASE_POSTGRES_PORT", str(postgres_port))
    monkeypatch.setenv("CLIENTBASE_SMTP_PORT", str(smtp_port))
    monkeypatch.setenv("CLIENTBASE_MAILPIT_PORT", str(mailpit_port))

    with caplog.at_level(logging.ERROR, logger="clientbase.stack"):
        exit_code = main(["up"])

    assert exit_code == EXIT_PORT_IN_USE
    assert f"port {occupied_port}" in caplog.text
    assert "CLIENTBASE_MONGO_PORT" in caplog.text
