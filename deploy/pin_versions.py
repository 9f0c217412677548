"""Pins every third-party package of the resolved workspace as an exact constraint in pyproject.toml."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"constraint-dependencies = \[.*?\]", re.S)


def resolved_versions() -> dict[str, str]:
    """Name and version of every registry package in a fresh resolution of the workspace."""
    subprocess.run(["uv", "lock", "--quiet"], cwd=ROOT, check=True)
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {
        package["name"]: package["version"]
        for package in lock["package"]
        if "registry" in package.get("source", {})
    }


def main() -> int:
    """Rewrite the constraint list of the root pyproject.toml."""
    versions = resolved_versions()
    lines = "\n".join(f'    "{name}=={version}",' for name, version in sorted(versions.items()))
    pyproject = ROOT / "pyproject.toml"
    text = BLOCK.sub(lambda _: f"constraint-dependencies = [\n{lines}\n]", pyproject.read_text(), count=1)
    pyproject.write_text(text)
    print(f"pinned {len(versions)} packages in {pyproject}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
