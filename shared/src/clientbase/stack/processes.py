"""Background server processes tracked by pid files: start, find, wait for readiness, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from clientbase.stack.accounts import Account
from clientbase.stack.errors import StackError

POLL_INTERVAL_S = 0.25
KILL_WAIT_S = 10.0
EXEC_SETTLE_S = 1.0
EXEC_SETTLE_POLL_S = 0.01


def _reap_if_child(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"


def process_is_alive(pid: int) -> bool:
    """Say whether a process with this pid exists and has not exited."""
    _reap_if_child(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # Our servers lead the session they were started in; signalling the group reaches their children too.
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _command_line(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _settled_command_line(pid: int) -> str | None:
    # A process that has just exec'd shows an empty command line for an instant, as a zombie does for good.
    deadline = time.monotonic() + EXEC_SETTLE_S
    while True:
        command_line = _command_line(pid)
        if command_line != "" or time.monotonic() > deadline or not process_is_alive(pid):
            return command_line
        time.sleep(EXEC_SETTLE_POLL_S)


class ManagedProcess:
    """One server process of the stack, known by its pid file and recognised by a marker in its command line."""

    def __init__(
        self, name: str, pid_file: Path, log_file: Path, marker: str, *,
        stop_signal: signal.Signals = signal.SIGTERM, stop_leader_only: bool = False,
    ) -> None:
        self.name = name
        self.pid_file = pid_file
        self.log_file = log_file
        self.marker = marker
        # A server that shuts its own children down (PostgreSQL) gets its stop signal alone; SIGKILL hits the group.
        self.stop_signal = stop_signal
        self.stop_leader_only = stop_leader_only

    def recorded_pid(self) -> int | None:
        """Return the pid in the pid file, or None when there is no readable pid file."""
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """Return the pid of our live process, removing a pid file that points at nothing of ours."""
        pid = self.recorded_pid()
        if pid is None:
            return None
        command_line = _settled_command_line(pid)
        # Exited (an empty command line is a zombie's) or a reused pid: check before touching the process at all.
        foreign = command_line is not None and self.marker not in command_line
        if not foreign and process_is_alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def log_size(self) -> int:
        """Return the current length of the log, so a caller can read only what comes after it."""
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        """Return the log text written after `offset`."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of the log, for error messages."""
        text = self.log_since(max(0, self.log_size() - 64_000))
        return "\n".join(text.splitlines()[-lines:])

    def start(
        self, argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, account: Account | None = None,
    ) -> int:
        """Start the process in its own session, as `account` if given, with its output to the log; record its pid."""
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            try:
                process = subprocess.Popen(
                    list(argv), cwd=cwd, env=dict(env) if env is not None else None,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                    **(account.process_options() if account is not None else {}),
                )
            except OSError as error:
                raise StackError(f"cannot start {self.name}: {error}") from error
        self.pid_file.write_text(f"{process.pid}\n")
        return process.pid

    def wait_until(self, ready: Callable[[], bool], timeout_s: float, pid: int) -> None:
        """Wait until `ready()` holds; raise StackError with the log tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not process_is_alive(pid):
                raise StackError(f"{self.name} exited during start-up; last lines of {self.log_file}:\n{self.log_tail()}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{self.name} was not ready after {timeout_s:.0f} s; last lines of {self.log_file}:\n{self.log_tail()}"
                )
            time.sleep(POLL_INTERVAL_S)

    def kill(self) -> bool:
        """SIGKILL our process and its group at once, as a crash would end it; say if one ran."""
        pid = self.running_pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_WAIT_S
        while process_is_alive(pid) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_S / 5)
        if process_is_alive(pid):
            raise StackError(f"{self.name} (pid {pid}) survived SIGKILL; pid file kept at {self.pid_file}")
        self.pid_file.unlink(missing_ok=True)
        return True

    def stop(self, timeout_s: float) -> bool:
        """Stop our process with its stop signal, then its group with SIGKILL after the timeout; say if one ran."""
        pid = self.running_pid()
        if pid is None:
            return False
        for sig, wait_s in ((self.stop_signal, timeout_s), (signal.SIGKILL, KILL_WAIT_S)):
            if sig != signal.SIGKILL and self.stop_leader_only:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            else:
                _signal_group(pid, sig)
            deadline = time.monotonic() + wait_s
            while process_is_alive(pid) and time.monotonic() < deadline:
                time.sleep(POLL_INTERVAL_S)
            if not process_is_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                return True
        raise StackError(f"{self.name} (pid {pid}) survived SIGKILL; pid file kept at {self.pid_file}")
