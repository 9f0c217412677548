"""The launcher wires the dashboard: metrics reads rotation's plan on rotation's port with rotation's token."""

from __future__ import annotations

from pathlib import Path

import pytest

from clientbase.stack.config import StackConfig
from clientbase.stack.stack import StackEndpoints
from clientbase.system.launcher import SystemLauncher
from clientbase.system.secrets import secrets_file


def test_metrics_gets_rotation_url_and_token_and_secrets_are_kept(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ROTATION_API_TOKEN", "METRICS_ROTATION_URL", "METRICS_ROTATION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLIENTBASE_ROTATION_PORT", "18302")
    launcher = SystemLauncher(StackConfig(state_dir=tmp_path, cache_dir=tmp_path / "cache"))
    env = launcher.environment(StackEndpoints("127.0.0.1:9092", "mongodb://127.0.0.1:27017/"))
    assert env["METRICS_ROTATION_URL"] == "http://127.0.0.1:18302"
    assert env["METRICS_ROTATION_TOKEN"] == env["ROTATION_API_TOKEN"] and len(env["ROTATION_API_TOKEN"]) >= 24
    assert f"ROTATION_API_TOKEN={env['ROTATION_API_TOKEN']}" in secrets_file(tmp_path).read_text()
    again = launcher.environment(StackEndpoints("127.0.0.1:9092", "mongodb://127.0.0.1:27017/"))
    assert again["ROTATION_API_TOKEN"] == env["ROTATION_API_TOKEN"]
