"""Finds and runs the external build tools and runtimes the stack needs: Maven, Go, Java and PostgreSQL's."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from clientbase.stack.accounts import Account
from clientbase.stack.errors import StackError

OUTPUT_TAIL_LINES = 40


def require_tool(name: str) -> str:
    """Return the full path of an executable on PATH, or raise a StackError saying it is missing."""
    path = shutil.which(name)
    if path is None:
        raise StackError(f"'{name}' is not on PATH; install it to run the local stack")
    return path


def java_executable() -> str:
    """Return the java launcher: $JAVA_HOME/bin/java when set, else java from PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    return require_tool("java")


def run_tool(
    command: Sequence[str], *, what: str, timeout_s: float, cwd: Path | None = None,
    env: Mapping[str, str] | None = None, account: Account | None = None,
) -> str:
    """Run a command to completion and return its output; raise StackError with its end if it fails or hangs."""
    try:
        result = subprocess.run(
            list(command), cwd=cwd, env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout_s, check=False,
            **(account.process_options() if account is not None else {}),
        )
    except subprocess.TimeoutExpired:
        raise StackError(f"{what} took longer than {timeout_s:.0f} s: {' '.join(command)}") from None
    except OSError as error:
        raise StackError(f"{what} could not run: {error}") from error
    if result.returncode != 0:
        tail = "\n".join(result.stdout.decode(errors="replace").splitlines()[-OUTPUT_TAIL_LINES:])
        raise StackError(f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{tail}")
    return result.stdout.decode(errors="replace")


def go_build(source_dir: Path, binary: Path, *, what: str) -> None:
    """Download the modules of the Go main in `source_dir` and build it into `binary`, with the local Go only."""
    # GOTOOLCHAIN=local: never download another Go; module and build caches stay where Go keeps them.
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    go = require_tool("go")
    run_tool([go, "mod", "download"], what=f"downloading {what}'s Go modules", timeout_s=1800, cwd=source_dir, env=env)
    run_tool([go, "build", "-trimpath", "-o", str(binary), "."], what=f"building {what}", timeout_s=1800,
             cwd=source_dir, env=env)
