"""Intake's erasure rules: what a lead fragment keeps, which contact points it holds, which raw bytes name them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clientbase.erasure.hashing import HashKeyMissing, KeyedHasher

from intake.domain import Consent, Lead
from intake.erasure import IntakeEraser, anonymous_fragment, contact_points, mentions
from intake.normalize import normalize_phone
from intake.records import fold, fragment_from_lead, view_from_record
from intake.repository import IntakeRepository

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def lead() -> Lead:
    phone = normalize_phone("8 (916) 123-45-67", "RU")
    assert phone is not None
    return Lead(lead_event_id="lead-1", occurred_at=AT, source_ref="form:landing", source={"channel": "form"},
                name="Марина Забытова", original_name="  забытова марина", phones=(phone,),
                emails=("marina@mail.example",), region="Москва",
                consents=(Consent("email", "other@mail.example", True, "Да", "1", AT, "203.0.113.9", "form"),))


def test_an_anonymous_fragment_keeps_only_what_counting_and_ordering_need() -> None:
    fragment = fragment_from_lead(lead())
    left = anonymous_fragment(fragment)
    assert set(left) == {"created_at", "last_confirmed_at", "leads", "is_company", "erased"}
    assert "Забытова" not in repr(left) and "9161234567" not in repr(left) and "203.0.113.9" not in repr(left)
    view = view_from_record(fold("c-1", [left]))
    assert view["name"] is None and view["phones"] == [] and view["emails"] == [] and view["consents"] == []


def test_contact_points_include_the_consent_addresses() -> None:
    phones, emails = contact_points([{"kind": "lead", "fragment": fragment_from_lead(lead())}])
    assert phones == {"+79161234567"} and emails == {"marina@mail.example", "other@mail.example"}


def test_raw_bytes_mention_a_phone_in_any_local_format_or_an_email_in_any_case() -> None:
    phones, emails = {"+79161234567"}, {"marina@mail.example"}
    assert mentions(b'{"fields": {"phone": "8 (916) 123-45-67"}}', phones, ())
    assert mentions('{"caller": "+7 916 123 45 67"}'.encode(), phones, ())
    assert mentions(b'{"email": "Marina@Mail.Example"}', (), emails)
    assert not mentions(b'{"fields": {"phone": "8 (916) 765-43-21"}}', phones, emails)


async def test_without_the_hash_key_nothing_is_touched() -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient("mongodb://127.0.0.1:1/", connect=False)
    eraser = IntakeEraser(IntakeRepository(client["never_used"]), KeyedHasher(None))
    with pytest.raises(HashKeyMissing):
        await eraser.erase(["c-1"])
    await client.close()
