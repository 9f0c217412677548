"""Throwaway secrets for the services a benchmark runs (the key vault's master key among them), unless set."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from clientbase.system.secrets import local_secrets


def use_throwaway_secrets() -> None:
    """Put fresh secrets in this process's environment (inherited by the services it starts) where none is set."""
    with tempfile.TemporaryDirectory(prefix="clientbase-bench-secrets-") as directory:
        os.environ.update(local_secrets(Path(directory)))
