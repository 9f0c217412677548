"""The unprivileged account a server runs as when the stack itself runs as root, and access for it to its files."""

from __future__ import annotations

import logging
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clientbase.stack.errors import StackError

log = logging.getLogger("clientbase.stack")


@dataclass(frozen=True)
class Account:
    """A system account: its name, user id, primary group id and every group id it belongs to."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]

    def process_options(self) -> dict[str, Any]:
        """Keyword arguments that make subprocess.Popen run a child as this account."""
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups)}


def lookup_account(name: str) -> Account:
    """Return the system account called `name`, or raise StackError saying how to create it."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise StackError(
            f"no system user {name!r} to run PostgreSQL as (it refuses to run as root); Debian's postgresql "
            f"package creates it, or: useradd --system --user-group --no-create-home {name}"
        ) from None
    return Account(name, entry.pw_uid, entry.pw_gid, tuple(sorted(set(os.getgrouplist(name, entry.pw_gid)))))


def account_to_run_as(name: str) -> Account | None:
    """Return the account called `name` when we are root, else None: a non-root user runs servers as itself."""
    return lookup_account(name) if os.geteuid() == 0 else None


def missing_search_bit(mode: int, owner: int, group: int, account: Account) -> int:
    """Return the permission bit a directory needs so that `account` may traverse it, or 0 if it may already."""
    if owner == account.uid:
        bit = stat.S_IXUSR
    elif group in account.groups:
        bit = stat.S_IXGRP
    else:
        bit = stat.S_IXOTH
    return 0 if mode & bit else bit


def grant_search(path: Path, account: Account) -> list[Path]:
    """Add the search (x) bit, never read, to each ancestor of `path` that `account` cannot traverse; return them."""
    changed = []
    for directory in reversed(Path(path).absolute().parents):
        info = directory.stat()
        bit = missing_search_bit(info.st_mode, info.st_uid, info.st_gid, account)
        if bit:
            os.chmod(directory, stat.S_IMODE(info.st_mode) | bit)
            log.info("let %s traverse %s (added the search bit)", account.name, directory)
            changed.append(directory)
    return changed


def give_to(path: Path, account: Account, mode: int) -> None:
    """Make `account` the owner of `path` with the given permission bits."""
    os.chown(path, account.uid, account.gid)
    os.chmod(path, mode)

