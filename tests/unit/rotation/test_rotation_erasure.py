"""Rotation's erasure rule: where a head of sales' free-text reason sits."""

from __future__ import annotations

from rotation.erasure import has_text


def test_free_text_is_found_in_a_decision_at_any_depth_and_only_when_given() -> None:
    assert has_text({"decision": {"reason_text": "звонил +7 916 123-45-67"}})
    assert has_text({"assignment": {"decision": {"reason_text": "просит"}}}, "assignment")
    assert not has_text({"assignment": {"decision": {"reason_text": None}}}, "assignment")
    assert not has_text({"last_deferral": None}, "last_deferral") and not has_text({"decision": None})
