"""Envelope construction and deterministic event ids."""

from __future__ import annotations

import uuid

from clientbase.events.envelope import derived_event_id, new_event_id
from clientbase.events.outbound import ClientMerged


def test_derived_ids_are_deterministic_and_distinct() -> None:
    first = derived_event_id("registered", "lead-1")
    assert first == derived_event_id("registered", "lead-1")
    assert first != derived_event_id("registered", "lead-2")
    assert first != derived_event_id("updated", "lead-1")
    assert derived_event_id("a", "bc") != derived_event_id("ab", "c")
    uuid.UUID(first)


def test_new_ids_are_unique_uuids() -> None:
    ids = {new_event_id() for _ in range(1000)}
    assert len(ids) == 1000


def test_create_fills_the_envelope() -> None:
    event = ClientMerged.create(source="intake", correlation_id="lead-1", causation_id="lead-1",
                                client_id="c1", merged_client_id="c2")
    assert event.event_type == "ClientMerged"
    assert event.schema_version == 1
    assert event.occurred_at.tzinfo is not None
    assert event.correlation_id == "lead-1"
    assert event.source == "intake"
