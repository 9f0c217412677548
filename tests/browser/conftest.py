"""Browser tests reuse the metrics and rotation integration kits: their folders go on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for kit in (TESTS / "integration" / "metrics", TESTS / "integration" / "rotation"):
    if str(kit) not in sys.path:
        sys.path.insert(0, str(kit))

from rotation_live_kit import live  # noqa: E402, F401
