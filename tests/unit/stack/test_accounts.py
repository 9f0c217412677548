"""An unprivileged server account gets exactly the search permission it lacks on the way to its files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from clientbase.stack.accounts import Account, grant_search, lookup_account, missing_search_bit
from clientbase.stack.errors import StackError

STRANGER = Account("stranger", uid=424242, gid=424242, groups=(424242,))


@pytest.mark.parametrize(
    ("mode", "owner", "group", "expected"),
    [
        (0o700, STRANGER.uid, 0, 0),
        (0o600, STRANGER.uid, 0, stat.S_IXUSR),
        (0o750, 0, STRANGER.gid, 0),
        (0o740, 0, STRANGER.gid, stat.S_IXGRP),
        (0o755, 0, 0, 0),
        (0o700, 0, 0, stat.S_IXOTH),
        (0o704, 0, 0, stat.S_IXOTH),
    ],
)
def test_the_missing_bit_is_the_one_of_the_accounts_class(mode: int, owner: int, group: int, expected: int) -> None:
    assert missing_search_bit(mode, owner, group, STRANGER) == expected


def test_only_the_search_bit_is_added_and_only_where_missing(tmp_path: Path) -> None:
    private = tmp_path / "private"
    open_dir = private / "open"
    target = open_dir / "data" / "postgres"
    target.parent.mkdir(parents=True)
    private.chmod(0o700)
    open_dir.chmod(0o755)
    target.parent.chmod(0o750)

    changed = grant_search(target, STRANGER)

    assert private in changed and open_dir not in changed
    assert stat.S_IMODE(private.stat().st_mode) == 0o701
    assert stat.S_IMODE(open_dir.stat().st_mode) == 0o755
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o751


def test_a_missing_account_is_reported_with_how_to_create_it() -> None:
    with pytest.raises(StackError, match="useradd --system"):
        lookup_account("clientbase-no-such-user")


def test_process_options_switch_user_group_and_supplementary_groups() -> None:
    assert STRANGER.process_options() == {"user": 424242, "group": 424242, "extra_groups": [424242]}
