"""A build cache entry that is reused only when a marker says it was finished from the same inputs."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

MARKER_NAME = ".complete"
DIGEST_CHARS = 12


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) so concurrent runs take turns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fingerprint(files: Iterable[Path]) -> str:
    """Return a digest of the names and contents of the build inputs."""
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


class CacheEntry:
    """A directory in the cache filled by a build step, trusted only after the step wrote its marker."""

    def __init__(self, directory: Path, inputs: Iterable[Path]) -> None:
        self.directory = directory
        self.inputs = tuple(inputs)

    @classmethod
    def keyed(cls, cache_dir: Path, name: str, inputs: Iterable[Path]) -> CacheEntry:
        """Return the entry `<name>-<digest of the inputs>`: checkouts with different inputs never share a build."""
        inputs = tuple(inputs)
        return cls(cache_dir / f"{name}-{fingerprint(inputs)[:DIGEST_CHARS]}", inputs)

    @property
    def marker(self) -> Path:
        """File whose content is the fingerprint of the inputs of the last finished build."""
        return self.directory / MARKER_NAME

    def is_complete(self) -> bool:
        """Say whether a finished build from the current inputs is present."""
        try:
            return self.marker.read_text().strip() == fingerprint(self.inputs)
        except OSError:
            return False

    def ensure(self, build: Callable[[Path], None]) -> bool:
        """Run `build(directory)` into an emptied directory unless complete; return whether it ran."""
        if self.is_complete():
            return False
        with file_lock(self.directory.with_name(self.directory.name + ".lock")):
            if self.is_complete():
                return False
            # Taken before building: inputs edited during the build leave a marker that no longer matches.
            expected = fingerprint(self.inputs)
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory.mkdir(parents=True)
            build(self.directory)
            self.marker.write_text(expected + "\n")
        return True
