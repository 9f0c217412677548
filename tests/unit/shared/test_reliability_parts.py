"""Pure parts of the reliability kit: envelope ids, error descriptions, backoff and dead-letter headers."""

from __future__ import annotations

import json

import pytest
from aiokafka import ConsumerRecord
from pydantic import BaseModel, ValidationError

from clientbase.kafka.dead_letter import dead_letter_headers
from clientbase.kafka.reliability import ConsumerReliability, describe_error, envelope_ids
from clientbase.settings import ReliabilitySettings


def record(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> ConsumerRecord:
    """A consumed record as aiokafka hands it over."""
    return ConsumerRecord("leads.form-submitted", 3, 42, 0, 0, b"k", value, None, len(value), 0, headers or [])


def test_ids_come_from_our_headers_first() -> None:
    rec = record(b'{"event_id": "body"}', [("event_id", b"hdr"), ("correlation_id", b"lead-1")])
    assert envelope_ids(rec) == ("hdr", "lead-1")


def test_foreign_messages_use_the_body_and_ignore_a_stray_correlation_header() -> None:
    rec = record(json.dumps({"event_id": "e-7"}).encode(), [("correlation_id", b"random-from-a-library")])
    assert envelope_ids(rec) == ("e-7", "e-7")
    rec = record(json.dumps({"event_id": "e-8", "correlation_id": "lead-2"}).encode())
    assert envelope_ids(rec) == ("e-8", "lead-2")


@pytest.mark.parametrize("value", [b"not json", b"[1, 2]", b'{"no_id": 1}', b"\xff\xfe"])
def test_unreadable_messages_have_no_ids(value: bytes) -> None:
    assert envelope_ids(record(value)) == (None, None)


def test_validation_errors_are_described_without_the_input() -> None:
    class Lead(BaseModel):
        phone: int

    with pytest.raises(ValidationError) as caught:
        Lead.model_validate({"phone": "+7 916 123-45-67"})
    text = describe_error(caught.value)
    assert text.startswith("ValidationError: phone: int_parsing")
    assert "916" not in text


def test_other_errors_are_masked() -> None:
    assert "1234567" not in describe_error(RuntimeError("cannot reach +7 916 123 45 67"))


def test_backoff_doubles_up_to_the_cap() -> None:
    kit = ConsumerReliability("g", ReliabilitySettings(backoff_initial_s=0.5, backoff_max_s=3.0))
    assert [kit.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_dead_letter_headers_keep_the_originals_and_add_the_reason() -> None:
    rec = record(b"{}", [("event_id", b"e-1"), ("x-dlq-error", b"old")])
    headers = dead_letter_headers(rec, error="boom", error_type="RuntimeError", attempts=5, group_id="intake")
    assert headers["event_id"] == "e-1"
    assert headers["x-dlq-error"] == "boom"
    assert headers["x-dlq-attempts"] == "5"
    assert (headers["x-dlq-origin-topic"], headers["x-dlq-origin-partition"], headers["x-dlq-origin-offset"]) == (
        "leads.form-submitted", "3", "42")
    assert headers["x-dlq-consumer-group"] == "intake"
