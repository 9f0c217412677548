"""Pid-file bookkeeping: our processes are found and stopped, foreign ones are never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from clientbase.stack import processes
from clientbase.stack.errors import StackError
from clientbase.stack.processes import ManagedProcess, process_is_alive

IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"


def managed(tmp_path: Path, marker: str) -> ManagedProcess:
    """A managed process with its pid file and log in tmp_path."""
    return ManagedProcess("server", tmp_path / "run" / "server.pid", tmp_path / "logs" / "server.log", marker)


@pytest.fixture
def foreign_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that the stack did not start."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def test_started_process_is_found_and_stopped(tmp_path: Path) -> None:
    process = managed(tmp_path, marker="stack-test-sleeper")
    pid = process.start([sys.executable, "-c", "import time; time.sleep(60)", "stack-test-sleeper"], cwd=tmp_path)

    assert process.running_pid() == pid
    assert process.stop(timeout_s=10) is True
    assert not process_is_alive(pid)
    assert not process.pid_file.exists()


def test_process_ignoring_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    process = managed(tmp_path, marker="import signal")
    pid = process.start([sys.executable, "-c", IGNORES_SIGTERM], cwd=tmp_path)
    process.wait_until(lambda: "ready" in process.log_since(0), timeout_s=10, pid=pid)

    assert process.stop(timeout_s=0.5) is True
    assert not process_is_alive(pid)


def test_pid_file_of_a_foreign_process_is_discarded_without_touching_it(
    tmp_path: Path, foreign_process: subprocess.Popen[bytes],
) -> None:
    process = managed(tmp_path, marker="a-marker-the-foreign-process-lacks")
    process.pid_file.parent.mkdir(parents=True)
    process.pid_file.write_text(f"{foreign_process.pid}\n")

    assert process.running_pid() is None
    assert process.stop(timeout_s=1) is False
    assert not process.pid_file.exists()
    assert foreign_process.poll() is None


def test_waiting_for_a_process_that_exits_reports_its_log(tmp_path: Path) -> None:
    process = managed(tmp_path, marker="unused")
    pid = process.start(["sh", "-c", "echo cannot bind the port; exit 3"], cwd=tmp_path)

    with pytest.raises(StackError, match="cannot bind the port"):
        process.wait_until(lambda: False, timeout_s=10, pid=pid)


def test_waiting_past_the_timeout_reports_its_log(tmp_path: Path) -> None:
    process = managed(tmp_path, marker="stack-test-slow")
    pid = process.start(["sh", "-c", "echo still warming up; sleep 60", "stack-test-slow"], cwd=tmp_path)
    try:
        with pytest.raises(StackError, match=r"(?s)not ready after .*still warming up"):
            process.wait_until(lambda: False, timeout_s=1, pid=pid)
    finally:
        process.stop(timeout_s=5)


def test_stop_signal_goes_to_the_leader_alone_when_asked(tmp_path: Path) -> None:
    # The leader exits on SIGINT; its child would die of SIGINT too, so it surviving proves it was not signalled.
    script = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(child.pid, flush=True); time.sleep(60)"
    )
    process = ManagedProcess(
        "server", tmp_path / "run" / "server.pid", tmp_path / "logs" / "server.log", marker="stack-test-leader",
        stop_signal=signal.SIGINT, stop_leader_only=True,
    )
    pid = process.start([sys.executable, "-c", script, "stack-test-leader"], cwd=tmp_path)
    process.wait_until(lambda: process.log_since(0).strip().isdigit(), timeout_s=10, pid=pid)
    child_pid = int(process.log_since(0).strip())
    try:
        assert process.stop(timeout_s=10) is True
        assert not process_is_alive(pid)
        assert process_is_alive(child_pid)
    finally:
        os.kill(child_pid, signal.SIGKILL)


def test_a_process_caught_mid_exec_is_still_recognised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    process = managed(tmp_path, marker="stack-test-exec")
    pid = process.start([sys.executable, "-c", "import time; time.sleep(60)", "stack-test-exec"], cwd=tmp_path)
    real_command_line = processes._command_line
    answers = iter(["", ""])
    monkeypatch.setattr(processes, "_command_line", lambda pid: next(answers, None) or real_command_line(pid))
    try:
        assert process.running_pid() == pid
        assert process.pid_file.exists()
    finally:
        monkeypatch.undo()
        process.stop(timeout_s=10)
