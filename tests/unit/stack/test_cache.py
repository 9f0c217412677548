"""Cache entries are reused only after a finished build from the same inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from clientbase.stack.cache import CacheEntry


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A build input file."""
    source = tmp_path / "pom.xml"
    source.write_text("<version>1</version>")
    return source


def writes_artifact(directory: Path) -> None:
    """A build step that succeeds."""
    (directory / "artifact").write_text("built")


def test_finished_build_is_reused(tmp_path: Path, inputs: Path) -> None:
    entry = CacheEntry(tmp_path / "cache" / "tool-1", [inputs])

    assert entry.ensure(writes_artifact) is True
    assert entry.ensure(writes_artifact) is False
    assert (entry.directory / "artifact").read_text() == "built"


def test_half_finished_build_is_redone(tmp_path: Path, inputs: Path) -> None:
    entry = CacheEntry(tmp_path / "cache" / "tool-1", [inputs])

    def fails_midway(directory: Path) -> None:
        (directory / "partial").write_text("half")
        raise RuntimeError("network went away")

    with pytest.raises(RuntimeError):
        entry.ensure(fails_midway)

    assert not entry.is_complete()
    assert entry.ensure(writes_artifact) is True
    assert not (entry.directory / "partial").exists()


def test_changed_inputs_trigger_a_rebuild(tmp_path: Path, inputs: Path) -> None:
    entry = CacheEntry(tmp_path / "cache" / "tool-1", [inputs])
    entry.ensure(writes_artifact)

    inputs.write_text("<version>2</version>")

    assert entry.ensure(writes_artifact) is True


def test_inputs_edited_during_a_build_leave_it_incomplete(tmp_path: Path, inputs: Path) -> None:
    entry = CacheEntry(tmp_path / "cache" / "tool-1", [inputs])

    def edited_midway(directory: Path) -> None:
        inputs.write_text("<version>2</version>")
        writes_artifact(directory)

    entry.ensure(edited_midway)

    assert not entry.is_complete()
    assert entry.ensure(writes_artifact) is True


def test_keyed_entries_of_different_inputs_live_apart(tmp_path: Path, inputs: Path) -> None:
    first = CacheEntry.keyed(tmp_path / "cache", "tool-1", [inputs])
    inputs.write_text("<version>2</version>")
    second = CacheEntry.keyed(tmp_path / "cache", "tool-1", [inputs])

    assert first.directory != second.directory
    assert first.directory.name.startswith("tool-1-")
    assert second.ensure(writes_artifact) is True
    assert second.ensure(writes_artifact) is False
