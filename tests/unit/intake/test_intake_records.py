"""Client records folded from lead fragments: any order, any repetition, same record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from intake.domain import Consent, Lead
from intake.normalize import normalize_phone
from intake.records import fold, fragment_from_lead, view_from_record

T0 = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
PHONES = ["+79161234567", "+74951332043", "+359888123456"]
EMAILS = ["ivan@mail.ru", "m@stroy.example"]
NAMES = ["Иван Иванов", "Иванов Иван", "Мария Петрова"]


def make_lead(n: int, phone: int | None, email: int | None, name: int | None, company: bool, region: str | None,
              minutes: int) -> Lead:
    at = T0 + timedelta(minutes=minutes)
    phones = (normalize_phone(PHONES[phone]),) if phone is not None else ()
    emails = (EMAILS[email],) if email is not None else ()
    consents = (Consent("email", emails[0], n % 2 == 0, "t", "1", at, None, f"form:f{n}"),) if emails else ()
    return Lead(f"lead-{n}", at, f"form:f{n}", {"channel": "form", "form_id": f"f{n}"}, phones=phones,  # type: ignore[arg-type]
                emails=emails, name=NAMES[name] if name is not None else None, company="ООО Ромашка" if company
                else None, position="Директор" if company else None, region=region, consents=consents)


LEADS = st.lists(st.builds(
    make_lead, st.integers(0, 50), st.one_of(st.none(), st.integers(0, 2)), st.one_of(st.none(), st.integers(0, 1)),
    st.one_of(st.none(), st.integers(0, 2)), st.booleans(), st.sampled_from([None, "Москва", "София"]),
    st.integers(0, 600)), min_size=1, max_size=6, unique_by=lambda lead: lead.lead_event_id)


@settings(max_examples=200)
@given(LEADS, st.randoms(use_true_random=False))
def test_fold_ignores_order_and_repetition(leads: list[Lead], random: object) -> None:
    fragments = [fragment_from_lead(lead) for lead in leads]
    shuffled = fragments + fragments[:2]
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert view_from_record(fold("cl-1", fragments)) == view_from_record(fold("cl-1", shuffled))


def test_earliest_name_wins_and_latest_region_is_shown() -> None:
    later = make_lead(1, 0, None, 1, False, "София", 60)
    earlier = make_lead(2, 0, 0, 0, False, "Москва", 0)
    view = view_from_record(fold("cl-1", [fragment_from_lead(later), fragment_from_lead(earlier)]))
    assert (view["name"], view["region"], view["kind"]) == ("Иван Иванов", "София", "person")
    assert view["phones"][0]["source"] == "form:f2" and view["emails"][0]["address"] == "ivan@mail.ru"


def test_company_lead_makes_a_company_with_its_contact() -> None:
    view = view_from_record(fold("cl-1", [fragment_from_lead(make_lead(1, 1, 1, 2, True, None, 0))]))
    assert (view["kind"], view["name"], view["position"]) == ("company", "ООО Ромашка", "Директор")
    assert view["contacts"] == [{"name": "Мария Петрова", "position": "Директор", "phones": ["+74951332043"],
                                 "emails": ["m@stroy.example"], "archived": False}]
