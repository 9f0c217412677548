"""Personal data is masked in log lines while ids and times stay readable."""

from __future__ import annotations

import json

import structlog
from hypothesis import given
from hypothesis import strategies as st

from clientbase.logging import configure_logging
from clientbase.masking import mask_email, mask_event_dict, mask_phone, mask_text


def test_phone_and_email_masks() -> None:
    assert mask_phone("+79161234567") == "+79*******67"
    assert mask_email("Ivan.Ivanov@Mail.RU") == "I***@Mail.RU"
    assert "1234567" not in mask_text("call +7 (916) 123-45-67 now")
    assert "ivan" not in mask_text("write to ivan@example.com").lower()


def test_ids_dates_and_numbers_are_left_alone() -> None:
    line = mask_event_dict(None, "info", {
        "event": "lead.received", "event_id": "39948dc5-4054-4556-9d29-78575908b1f8",
        "occurred_at": "2026-11-23T10:00:00+03:00", "as_of": "2026-11-23", "count": 12345678901,
    })
    assert line["event_id"] == "39948dc5-4054-4556-9d29-78575908b1f8"
    assert line["occurred_at"] == "2026-11-23T10:00:00+03:00"
    assert line["as_of"] == "2026-11-23"
    assert line["count"] == 12345678901


def test_nested_values_are_masked() -> None:
    line = mask_event_dict(None, "info", {"lead": {"phone": "89161234567", "emails": ["a.b@c.example"],
                                                    "name": "Иван Иванов"}})
    assert line["lead"] == {"phone": "89*******67", "emails": ["a***@c.example"], "name": "И. И."}


@given(st.from_regex(r"\+?[1-9]\d{8,14}", fullmatch=True))
def test_no_full_phone_survives(phone: str) -> None:
    assert phone not in json.dumps(mask_event_dict(None, "info", {"event": f"text {phone} text", "phone": phone}))


def test_configured_logger_writes_masked_json(capsys) -> None:
    configure_logging("test")
    structlog.get_logger().info("lead.received", phone="+7 916 123-45-67", email="olga@пример.рф")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "lead.received" and line["service"] == "test"
    assert "123-45-67" not in line["phone"] and line["email"].startswith("o***@")
