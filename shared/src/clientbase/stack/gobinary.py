"""A server binary built from a small Go main in deploy/local, cached by the module's version and inputs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from clientbase.stack.cache import CacheEntry
from clientbase.stack.errors import StackError
from clientbase.stack.tools import go_build


@dataclass(frozen=True)
class GoBinary:
    """Where a Go-built server comes from (its module requirement) and where its cached binary lives."""

    source_dir: Path
    module: str
    name: str
    title: str
    cache_dir: Path

    def version(self) -> str:
        """The version of `module` the Go main requires."""
        match = re.search(rf"{re.escape(self.module)}\s+(v\S+)", (self.source_dir / "go.mod").read_text())
        if match is None:
            raise StackError(f"no {self.module} requirement in {self.source_dir / 'go.mod'}")
        return match.group(1)

    def cache_entry(self) -> CacheEntry:
        """Cache directory holding the built binary, keyed by version and the Go main's inputs."""
        inputs = [self.source_dir / name for name in ("main.go", "go.mod", "go.sum")]
        return CacheEntry.keyed(self.cache_dir, f"{self.name}-{self.version()}", inputs)

    @property
    def binary(self) -> Path:
        """Path of the built binary."""
        return self.cache_entry().directory / self.name

    def prepare(self) -> bool:
        """Build the binary into the cache unless already there; return whether it built."""
        return self.cache_entry().ensure(lambda directory: go_build(self.source_dir, directory / self.name,
                                                                    what=self.title))
