"""Birth dates from forms: kept normalized, or dropped with a warning while the lead is still used."""

from __future__ import annotations

import json
from datetime import date

import pytest

from clientbase.events.inbound import FormSubmitted
from intake.birthdays import normalize_birthday
from intake.domain import IntakePolicy
from intake.leads import lead_from_form
from intake.parsing import parse_inbound

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1985-03-14", "1985-03-14"), ("14.03.1985", "1985-03-14"), (" 4/3/1985 ", "1985-03-04"), ("", None), (None, None),
])
def test_valid_or_absent_birthdays(raw: object, expected: str | None) -> None:
    assert normalize_birthday(raw, TODAY) == (expected, None)


@pytest.mark.parametrize("raw", ["31.02.1990", "1990-13-01", "yesterday", "2030-01-01", "01.01.1850"])
def test_invalid_birthdays_are_dropped_with_a_reason(raw: str) -> None:
    value, warning = normalize_birthday(raw, TODAY)
    assert value is None and warning is not None
    assert (warning.code, warning.field) == ("invalid_birthday", "fields.birthday")


def test_a_lead_with_a_bad_birthday_is_used_and_carries_the_warning() -> None:
    def lead(birthday: str) -> object:
        raw = {"event_id": "f-1", "occurred_at": "2026-11-20T10:00:00+03:00", "form_id": "landing",
               "fields": {"name": "Иван", "phone": "+79161234567", "birthday": birthday}}
        return lead_from_form(parse_inbound(json.dumps(raw).encode(), FormSubmitted, max_bytes=65536), IntakePolicy())

    good, bad = lead("14.03.1985"), lead("31.02.1985")
    assert (good.birthday, good.warnings) == ("1985-03-14", ())  # type: ignore[attr-defined]
    assert bad.birthday is None and [w.code for w in bad.warnings] == ["invalid_birthday"]  # type: ignore[attr-defined]
    assert bad.phones  # type: ignore[attr-defined]
