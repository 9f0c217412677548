"""The stack's PostgreSQL: which binaries it runs and with which settings."""

from __future__ import annotations

from pathlib import Path

from clientbase.stack.postgres import BINARIES, find_bin_dir, server_settings, settings_arguments


def install(root: Path, version: str, binaries: tuple[str, ...] = BINARIES) -> Path:
    """A fake Debian PostgreSQL bin directory."""
    bin_dir = root / version / "bin"
    bin_dir.mkdir(parents=True)
    for name in binaries:
        (bin_dir / name).write_text("#!/bin/sh\n")
    return bin_dir


def test_the_newest_complete_debian_version_is_chosen(tmp_path: Path) -> None:
    install(tmp_path, "9.6")
    newest_complete = install(tmp_path, "15")
    install(tmp_path, "16", binaries=("psql",))
    (tmp_path / "common").mkdir()

    assert find_bin_dir(tmp_path) == newest_complete


def test_versions_compare_as_numbers(tmp_path: Path) -> None:
    install(tmp_path, "9.6")
    ten = install(tmp_path, "10")

    assert find_bin_dir(tmp_path) == ten


def test_the_server_listens_on_loopback_tcp_only_on_its_port() -> None:
    settings = server_settings(15433)

    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["port"] == "15433"
    assert settings["unix_socket_directories"] == ""


def test_the_development_cluster_trades_durability_for_speed() -> None:
    settings = server_settings(5433)

    assert (settings["fsync"], settings["synchronous_commit"], settings["full_page_writes"]) == ("off", "off", "off")
    assert settings["shared_buffers"] == "128MB"


def test_settings_become_dash_c_arguments() -> None:
    assert settings_arguments({"port": "5433", "unix_socket_directories": ""}) == [
        "-c", "port=5433", "-c", "unix_socket_directories=",
    ]
