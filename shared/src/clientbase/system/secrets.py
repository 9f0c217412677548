"""Secrets of a local run (webhook keys, token keys, the API tokens), made once and kept in the state dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_VARIABLES = ("INTAKE_WEBHOOK_SECRET", "NOTIFY_TOKEN_SECRET", "NOTIFY_WEBHOOK_SECRET", "METRICS_API_TOKEN",
                    "INTAKE_API_TOKEN", "ROTATION_API_TOKEN", "NOTIFY_CAMPAIGN_TOKEN", "PRIVACY_HASH_KEY",
                    "PRIVACY_API_TOKEN", "KEYVAULT_MASTER_KEY")
SCOPES = {"INTAKE_API_TOKEN": ":pii", "PRIVACY_API_TOKEN": ":pii"}  # the local operator sees contact points in full
FILE_NAME = "secrets.env"


def secrets_file(state_dir: Path) -> Path:
    """Where a local run keeps its secrets (readable by its owner only)."""
    return state_dir / FILE_NAME


def local_secrets(state_dir: Path) -> dict[str, str]:
    """The run's secrets: the environment's where set, else the ones kept in the state dir, made on first use."""
    path = secrets_file(state_dir)
    kept: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            if name in SECRET_VARIABLES and value:
                kept[name] = value
    missing = [name for name in SECRET_VARIABLES if name not in kept]
    if missing:
        kept.update({name: secrets.token_urlsafe(24) + SCOPES.get(name, "") for name in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.write_text("".join(f"{name}={kept[name]}\n" for name in SECRET_VARIABLES))
    return {name: os.environ.get(name) or kept[name] for name in SECRET_VARIABLES}
