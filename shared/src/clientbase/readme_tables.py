"""Renders the README's topic and configuration tables from the registry and the settings classes."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

from clientbase import topics
from clientbase.segments import SegmentSettings
from clientbase.settings import (
    KafkaSettings, KeyVaultSettings, LoggingSettings, MongoSettings, PrivacySettings, ReliabilitySettings,
)
from clientbase.settings_doc import env_vars, markdown_table

SERVICES = ("intake", "rotation", "notify", "metrics")
SECTION = "<!-- {name}:start -->\n{body}\n<!-- {name}:end -->"


def topics_table() -> str:
    """Every registry topic with its partitions, key, producers and consumers."""
    lines = ["| topic | partitions | key | producers | consumers | meaning |", "|---|---|---|---|---|---|"]
    lines += [
        f"| `{t.name}` | {t.partitions} | {t.key} | {', '.join(t.producers)} | {', '.join(t.consumers)} | {t.description} |"
        for t in topics.TOPICS
    ]
    return "\n".join(lines)


def config_tables() -> str:
    """The shared variables, then each service's own."""
    shared = [var for cls in (KafkaSettings, MongoSettings, ReliabilitySettings, LoggingSettings, SegmentSettings,
                              PrivacySettings)
              for var in env_vars(cls)]
    parts = ["Shared by every service:", "", markdown_table(shared), "",
             "Key vault of sealed personal fields (intake, rotation and notify; metrics needs no keys):", "",
             markdown_table(env_vars(KeyVaultSettings))]
    for service in SERVICES:
        settings_class = importlib.import_module(f"{service}.settings").Settings
        own = [var for var in env_vars(settings_class) if var.name.startswith(f"{service.upper()}_")]
        parts += ["", f"{service} (prefix `{service.upper()}_`):", "", markdown_table(own)]
    return "\n".join(parts)


def render(readme: str) -> str:
    """The README with its generated sections replaced by current ones."""
    for name, body in (("topics", topics_table()), ("config", config_tables())):
        pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
        readme = pattern.sub(lambda _, n=name, b=body: SECTION.format(name=n, body=b), readme)
    return readme


def main() -> int:
    """Rewrite README.md in place."""
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
