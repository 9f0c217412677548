"""Every topic of the registry has a payload model, and every example payload validates against it."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from pydantic import ValidationError

from clientbase import topics
from clientbase.events.contract import MODEL_BY_TOPIC, model_for
from clientbase.events.envelope import Envelope, InboundEvent

EXAMPLES = resources.files("clientbase.events") / "examples"


def examples_of(topic: str) -> list[dict]:
    """The example payloads kept for a topic, in the schema version its producer publishes now."""
    model = model_for(topic)
    version = model.SCHEMA_VERSION if issubclass(model, Envelope) else 1
    return json.loads((EXAMPLES / f"{topic}.v{version}.json").read_text(encoding="utf-8"))


def test_every_registry_topic_has_a_model() -> None:
    assert set(MODEL_BY_TOPIC) == {topic.name for topic in topics.TOPICS}


@pytest.mark.parametrize("topic", [t.name for t in topics.TOPICS])
def test_every_example_validates_and_round_trips(topic: str) -> None:
    model = model_for(topic)
    items = examples_of(topic)
    assert items, f"no example for {topic}"
    for payload in items:
        event = model.model_validate(payload)
        again = model.model_validate_json(event.model_dump_json())
        assert again == event
        if issubclass(model, Envelope):
            assert event.event_type == model.EVENT_TYPE
            assert event.schema_version == model.SCHEMA_VERSION


@pytest.mark.parametrize("topic", [t.name for t in topics.TOPICS if issubclass(model_for(t.name), Envelope)])
def test_outbound_events_refuse_unknown_fields(topic: str) -> None:
    payload = {**examples_of(topic)[0], "surprise": 1}
    with pytest.raises(ValidationError):
        model_for(topic).model_validate(payload)


@pytest.mark.parametrize("topic", [t.name for t in topics.TOPICS if issubclass(model_for(t.name), InboundEvent)])
def test_inbound_events_tolerate_unknown_fields_but_need_envelope_ids(topic: str) -> None:
    model = model_for(topic)
    payload = {**examples_of(topic)[0], "added_by_a_newer_producer": True}
    model.model_validate(payload)
    for required in ("event_id", "occurred_at"):
        broken = {k: v for k, v in payload.items() if k != required}
        with pytest.raises(ValidationError):
            model.model_validate(broken)


def test_occurred_at_needs_an_offset() -> None:
    payload = {**examples_of(topics.MANAGERS_CHANGED.name)[0], "occurred_at": "2026-01-10T09:00:00"}
    with pytest.raises(ValidationError):
        model_for(topics.MANAGERS_CHANGED.name).model_validate(payload)


def test_sale_needs_a_client_reference() -> None:
    payload = {k: v for k, v in examples_of(topics.SALES_RECORDED.name)[0].items() if k != "phone"}
    with pytest.raises(ValidationError, match="client_id, phone or email"):
        model_for(topics.SALES_RECORDED.name).model_validate(payload)


def test_notification_needs_exactly_one_recipient() -> None:
    payload = {**examples_of(topics.NOTIFICATIONS_REQUESTED.name)[0], "manager_id": "m-1"}
    with pytest.raises(ValidationError, match="exactly one"):
        model_for(topics.NOTIFICATIONS_REQUESTED.name).model_validate(payload)


def test_samples_of_the_roster_validate() -> None:
    from pathlib import Path

    roster = Path(__file__).resolve().parents[4] / "shared" / "samples" / "managers.jsonl"
    lines = [line for line in roster.read_text(encoding="utf-8").splitlines() if line.strip()]
    managers = [model_for(topics.MANAGERS_CHANGED.name).model_validate_json(line) for line in lines]
    assert {m.manager_id for m in managers} >= {"m-ru-1", "m-head"}
