"""The pause between two rewrites of the rollups: the interval, or three times a long rewrite's duration."""

from __future__ import annotations

from metrics.rollups import MAX_BUSY_SHARE, pause_after


def test_a_quick_rewrite_waits_the_interval_and_a_long_one_keeps_its_share_of_the_time_at_most() -> None:
    assert pause_after(0.5, 10.0) == 10.0
    assert pause_after(8.0, 10.0) == 24.0
    took = 8.0
    assert took / (took + pause_after(took, 0.0)) == MAX_BUSY_SHARE
