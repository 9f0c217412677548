"""Leads from the samples and hand-made bad inputs: parsing, rejection reasons and the identity rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientbase.events.inbound import CallReceived, FormSubmitted, SaleRecorded

from intake.domain import IntakePolicy, Lead, Rejected, candidate_client_id, missing_fields
from intake.identity import KnownClient, resolve_identity
from intake.leads import lead_from_call, lead_from_form
from intake.normalize import normalize_phone
from intake.parsing import parse_inbound

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "samples"
POLICY = IntakePolicy()
LIMIT = 65536


def sample(name: str) -> list[bytes]:
    """Raw lines of one sample file."""
    return [line.encode() for line in (SAMPLES / name).read_text().splitlines() if line.strip()]


def form_lead(raw: bytes) -> Lead:
    return lead_from_form(parse_inbound(raw, FormSubmitted, max_bytes=LIMIT), POLICY)


def call_lead(raw: bytes) -> Lead:
    return lead_from_call(parse_inbound(raw, CallReceived, max_bytes=LIMIT), POLICY)


def rejection(fn: object, raw: bytes) -> Rejected:
    with pytest.raises(Rejected) as caught:
        fn(raw)  # type: ignore[operator]
    return caught.value


def test_first_form_is_fully_normalized() -> None:
    lead = form_lead(sample("forms.jsonl")[0])
    assert lead.name == "Иванов Иван" and lead.original_name == "иванов   Иван"  # the inbound model strips the ends
    assert [(p.e164, p.type) for p in lead.phones] == [("+79161234567", "mobile")]
    assert lead.emails == ("ivan.ivanov@mail.ru",)
    assert (lead.region, lead.locale, lead.language, lead.country) == ("Москва", "ru-RU", "ru", "RU")
    assert lead.source == {"channel": "form", "form_id": "landing-spring",
                           "utm": {"source": "google", "medium": "cpc", "campaign": "spring"}}
    assert [(c.channel, c.address, c.granted, c.text_version, c.ip) for c in lead.consents] == [
        ("sms", "+79161234567", True, "2026-01", "198.51.100.23"),
        ("email", "ivan.ivanov@mail.ru", True, "2026-01", "198.51.100.23"),
    ]
    assert lead.callback_requested, "'Перезвоните после 18:00' asks for a callback"


def test_same_person_three_ways_has_the_same_identity() -> None:
    forms, calls = sample("forms.jsonl"), sample("calls.jsonl")
    leads = [form_lead(forms[0]), form_lead(forms[4]), call_lead(calls[0]), call_lead(calls[5])]
    assert {k.key for lead in leads for k in lead.identity_keys() if k.key.startswith("phone:")} == {
        "phone:+79161234567"}


def test_company_form_and_bulgarian_and_idn_forms() -> None:
    forms = sample("forms.jsonl")
    company = form_lead(forms[1])
    assert (company.company, company.position) == ("ООО «СтройМаркет»", "Директор по закупкам")
    assert [k.strong for k in company.identity_keys()] == [True, False], "email strong, fixed line weak"
    assert form_lead(forms[2]).consents[1].granted is False, "a refusal is evidence too"
    assert form_lead(forms[5]).emails == ("olga@пример.рф",)
    assert form_lead(forms[4]).callback_requested


def test_sms_consent_for_a_fixed_line_is_not_recorded() -> None:
    raw = json.loads(sample("forms.jsonl")[5])
    raw["consents"] = [{"channel": "sms", "granted": True, "text": "t", "text_version": "1"}]
    lead = form_lead(json.dumps(raw).encode())
    assert lead.phones[0].type == "fixed" and lead.consents == ()


def test_bad_sample_forms_are_rejected_with_reasons() -> None:
    forms = sample("forms.jsonl")
    no_contact = rejection(form_lead, forms[6])
    assert {(r.code, r.field) for r in no_contact.reasons} == {
        ("no_usable_contact", None), ("no_usable_contact", "fields.phone"), ("no_usable_contact", "fields.email")}
    assert no_contact.lead_event_id == "25d492a6-ee5a-5227-84f1-21688178e2ff"
    honeypot = rejection(form_lead, forms[7])
    assert [(r.code, r.field) for r in honeypot.reasons] == [("honeypot_filled", "fields.website")]


def test_calls_inbound_outbound_missed_and_anonymous() -> None:
    calls = sample("calls.jsonl")
    answered = call_lead(calls[0])
    assert answered.source == {"channel": "call", "call_id": "c-1001", "called_number": "+74951332043"}
    assert answered.manager_id == "m-ru-2" and not answered.missed_inbound
    missed = call_lead(calls[1])
    assert missed.missed_inbound and missed.occurred_at == datetime(2026, 11, 21, 7, 15, tzinfo=UTC)
    assert call_lead(calls[3]).missed_inbound, "voicemail is a missed call too"
    outbound = call_lead(calls[5])
    assert outbound.phones[0].e164 == "+79161234567" and not outbound.missed_inbound
    anonymous = rejection(call_lead, calls[4])
    assert {(r.code, r.field) for r in anonymous.reasons} >= {("no_usable_contact", "caller")}


@pytest.mark.parametrize(("raw", "code", "field"), [
    (b"{not json", "invalid_json", None),
    (b"\xff\xfe\x00", "invalid_json", None),
    (b"[1, 2]", "schema_violation", None),
    (b'{"event_id": "e1", "occurred_at": "2026-11-20T10:00:00+03:00", "form_id": "x"}', "schema_violation", "fields"),
    (b'{"event_id": "e1", "occurred_at": "yesterday", "form_id": "x", "fields": {}}', "schema_violation",
     "occurred_at"),
    (b'{"event_id": "e1", "occurred_at": "2026-11-20T10:00:00", "form_id": "x", "fields": {}}', "schema_violation",
     "occurred_at"),
    (b'{"event_id": "e1", "schema_version": 2, "occurred_at": "2026-11-20T10:00:00+03:00", "form_id": "x",'
     b' "fields": {}}', "unknown_schema_version", "schema_version"),
    (b'{"event_id": "e1", "occurred_at": "2026-11-20T10:00:00+03:00", "form_id": "x", "fields": {},'
     b' "consents": [{"channel": "fax", "granted": true, "text": "t", "text_version": "1"}]}', "schema_violation",
     "consents.0.channel"),
    (b'{"event_id": "e1", "occurred_at": "2026-11-20T10:00:00+03:00", "form_id": "x", "fields": {"phone": "1"},'
     b' "comment": "' + b"x" * 70000 + b'"}', "payload_too_large", None),
])
def test_bad_inputs_rejected_with_code_and_field(raw: bytes, code: str, field: str | None) -> None:
    rejected = rejection(form_lead, raw)
    assert (rejected.reasons[0].code, rejected.reasons[0].field) == (code, field)


def test_bad_call_values_are_schema_violations() -> None:
    raw = json.loads(sample("calls.jsonl")[0])
    raw.update(direction="sideways", duration_s=-1)
    rejected = rejection(call_lead, json.dumps(raw).encode())
    assert {r.field for r in rejected.reasons} == {"direction", "duration_s"}
    assert rejected.lead_event_id == raw["event_id"]


def test_sale_needs_a_client_reference() -> None:
    raw = b'{"event_id": "s1", "occurred_at": "2026-11-20T10:00:00+03:00", "order_id": "o", "kind": "order",' \
          b' "amount": 10, "currency": "RUB"}'
    with pytest.raises(Rejected) as caught:
        parse_inbound(raw, SaleRecorded, max_bytes=LIMIT)
    assert caught.value.reasons[0].code == "schema_violation"


# --- identity rule ---

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def lead_with(phone: str, name: str | None = None, email: str | None = None) -> Lead:
    p = normalize_phone(phone, "RU")
    assert p is not None
    return Lead("L", T0, "form:x", {"channel": "form"}, phones=(p,), emails=(email,) if email else (), name=name)


def test_strong_keys_owned_by_two_clients_merge_into_the_one_with_the_oldest_lead() -> None:
    older = candidate_client_id("lead-1", T0)
    newer = candidate_client_id("lead-0", T0.replace(year=2027))
    assert older < newer, "client ids sort by the time of the lead that created them"
    lead = lead_with("+79161234567", "Иван", "ivan@mail.ru")
    owners = {"phone:+79161234567": newer, "email:ivan@mail.ru": older}
    resolution = resolve_identity(lead, owners, {newer: KnownClient(newer)})
    assert (resolution.survivor, resolution.merged) == (older, (newer,))


def test_candidate_ids_are_stable_per_lead() -> None:
    assert candidate_client_id("lead-1", T0) == candidate_client_id("lead-1", T0) != candidate_client_id("lead-2", T0)


def test_switchboard_with_another_name_adds_a_contact_and_never_merges() -> None:
    lead = lead_with("+74951332043", "Пётр Сидоров")
    known = {"cl-a": KnownClient("cl-a", frozenset({"мария петрова"}))}
    resolution = resolve_identity(lead, {"phone:+74951332043": "cl-a"}, known)
    assert (resolution.survivor, resolution.merged, resolution.switchboard) == ("cl-a", (), True)


def test_switchboard_with_same_name_or_no_name_is_the_same_client() -> None:
    known = {"cl-a": KnownClient("cl-a", frozenset({"мария петрова"}))}
    for name in ("Петрова Мария", None):
        resolution = resolve_identity(lead_with("+74951332043", name), {"phone:+74951332043": "cl-a"}, known)
        assert (resolution.survivor, resolution.switchboard) == ("cl-a", False)


def test_fixed_line_of_another_person_does_not_pull_a_mobile_match_into_a_merge() -> None:
    lead = lead_with("+74951332043", "Пётр Сидоров", "petr@mail.ru")
    owners = {"phone:+74951332043": "cl-company", "email:petr@mail.ru": "cl-petr"}
    known = {"cl-company": KnownClient("cl-company", frozenset({"мария петрова"})),
             "cl-petr": KnownClient("cl-petr", frozenset({"пётр сидоров"}))}
    resolution = resolve_identity(lead, owners, known)
    assert (resolution.survivor, resolution.merged, resolution.ignored_weak) == ("cl-petr", (), ("cl-company",))


def test_missing_fields_for_person_and_company() -> None:
    assert missing_fields({"kind": "person", "name": "A", "phones": [1], "lead_source": {"channel": "call"}}) == [
        "email", "region"]
    assert missing_fields({"kind": "company", "name": "ООО", "phones": [1], "emails": [1], "region": "M",
                           "lead_source": {"c": 1}, "contacts": [{"name": "M", "position": None}]}) == ["position"]


# --- property: any input either becomes a lead or a rejection with reasons, never another error ---

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)
FORMISH = st.fixed_dictionaries({
    "event_id": st.one_of(st.text(max_size=40), st.integers()), "occurred_at": st.sampled_from(
        ["2026-11-20T10:00:00+03:00", "2026-11-21T010:15:00+03:00", "now", ""]),
    "form_id": st.text(max_size=10), "fields": st.dictionaries(st.sampled_from(
        ["name", "phone", "email", "company", "website", "comment"]), st.one_of(st.text(max_size=30), JSON)),
    "consents": st.lists(st.fixed_dictionaries({"channel": st.sampled_from(["sms", "email", "x"]),
                                                "granted": st.booleans(), "text": st.text(max_size=5),
                                                "text_version": st.text(max_size=3)}), max_size=2),
    "locale": st.one_of(st.none(), st.text(max_size=6)), "schema_version": st.sampled_from([1, 1, 2, "1"]),
})


@settings(max_examples=300)
@given(st.one_of(FORMISH, JSON))
def test_any_form_payload_is_a_lead_or_a_rejection(payload: object) -> None:
    raw = json.dumps(payload).encode()
    try:
        lead = form_lead(raw)
    except Rejected as rejected:
        assert rejected.reasons and all(r.code and r.message for r in rejected.reasons)
    else:
        assert lead.phones or lead.emails
        assert all(p.e164.startswith("+") for p in lead.phones)


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_any_bytes_are_a_lead_or_a_rejection(raw: bytes) -> None:
    try:
        call_lead(raw)
    except Rejected as rejected:
        assert rejected.reasons
