"""The policy pipeline's pure rules: the §3.6 order of checks, categories, frequency, dedupe and timing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from notify.domain import Policy, PolicyState, Recipient, Request, decide
from notify.records import decided_fields, request_fields, request_from_doc, subject_params

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
PHONE, EMAIL = "+79161234567", "ivan@mail.example"
POLICY = Policy(company_timezone="Europe/Moscow", country_timezones={"RU": "Europe/Moscow"})
CLIENT = Recipient("client:c1", name="Иван", phones=((PHONE, "mobile"),), emails=(EMAIL,), locale="ru-RU",
                   region="Москва")


def req(channel: str = "sms", category: str = "marketing", **extra: Any) -> Request:
    request_id = extra.pop("request_id", "r1")
    return Request(request_id=request_id, correlation_id="r1", channel=channel, category=category,  # type: ignore[arg-type]
                   template="promo_generic", params={}, client_id="c1", **extra)


def state(**consents: str) -> PolicyState:
    return PolicyState(consents={f"sms:{PHONE}": consents.get("sms", "none"),
                                 f"email:{EMAIL}": consents.get("email", "none")})


def verdict(request: Request, st: PolicyState, recipient: Recipient | None = CLIENT, now: datetime = NOW,
            policy: Policy = POLICY) -> tuple[str, str | None]:
    decision = decide(request, recipient, st, policy, now)
    return decision.verdict, decision.reason


def test_marketing_needs_a_grant_for_the_channel_and_address() -> None:
    assert verdict(req(), state()) == ("suppressed", "no_consent")
    assert verdict(req(), state(sms="granted")) == ("send", None)
    assert verdict(req("email"), state(sms="granted")) == ("suppressed", "no_consent")


def test_an_unconfirmed_email_grant_is_not_enough() -> None:
    assert verdict(req("email"), state(email="unconfirmed")) == ("suppressed", "unconfirmed")


@pytest.mark.parametrize(("category", "expected"), [
    ("marketing", ("suppressed", "opted_out")), ("service", ("suppressed", "opted_out")), ("internal", ("send", None)),
])
def test_an_opt_out_wins_for_every_category_but_internal(category: str, expected: tuple[str, str]) -> None:
    assert verdict(req(category=category), state(sms="opted_out")) == expected


def test_service_messages_need_no_marketing_consent() -> None:
    assert verdict(req(category="service"), state()) == ("send", None)


def test_the_order_of_checks_opt_out_before_consent_before_suppression_before_frequency() -> None:
    st = state(sms="opted_out")
    st.suppressed.add(f"sms:{PHONE}")
    assert verdict(req(), st) == ("suppressed", "opted_out")
    st = state()
    st.suppressed.add(f"sms:{PHONE}")
    assert verdict(req(), st) == ("suppressed", "no_consent")
    st = state(sms="granted")
    st.suppressed.add(f"sms:{PHONE}")
    st.marketing_sends[f"sms:{PHONE}"] = [NOW - timedelta(hours=1)]
    assert verdict(req(), st) == ("suppressed", "suppressed_address")
    assert verdict(req(category="service"), st) == ("suppressed", "suppressed_address")


def test_sms_goes_to_mobile_numbers_only() -> None:
    fixed = Recipient("client:c1", phones=(("+74951332043", "fixed"),))
    assert verdict(req(category="service"), state(), fixed) == ("suppressed", "not_mobile")
    assert verdict(req(category="service"), state(), Recipient("client:c1")) == ("suppressed", "no_address")
    assert verdict(req("email", "service"), state(), Recipient("client:c1")) == ("suppressed", "no_address")


def test_frequency_counts_per_client_and_per_address_and_within_the_batch() -> None:
    st = state(sms="granted")
    assert verdict(req(request_id="a"), st) == ("send", None)
    assert verdict(req(request_id="b"), st) == ("suppressed", "frequency")
    shared = state(sms="granted")
    shared.marketing_sends[f"sms:{PHONE}"] = [NOW - timedelta(days=2)]  # another client on the same number
    assert verdict(req(), shared) == ("suppressed", "frequency")
    old = state(sms="granted")
    old.marketing_sends["client:c1:sms"] = [NOW - timedelta(days=8)]
    assert verdict(req(), old) == ("send", None)


def test_a_second_phone_with_consent_is_used_when_the_first_has_none() -> None:
    two = Recipient("client:c1", phones=((PHONE, "mobile"), ("+79160000000", "mobile")))
    st = PolicyState(consents={"sms:+79160000000": "granted"})
    decision = decide(req(), two, st, POLICY, NOW)
    assert (decision.verdict, decision.address) == ("send", "+79160000000")


def test_quiet_hours_defer_to_the_local_morning() -> None:
    night = datetime(2026, 11, 20, 20, 30, tzinfo=UTC)  # 23:30 in Moscow
    decision = decide(req(category="service"), CLIENT, state(), POLICY, night)
    assert (decision.verdict, decision.reason) == ("deferred", "quiet_hours")
    assert decision.deliver_after == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    assert verdict(req(category="internal"), state(), now=night) == ("send", None)


def test_the_recipients_zone_comes_from_region_then_number_then_country() -> None:
    evening_utc = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)  # 21:30 in Novosibirsk, 17:30 in Moscow
    siberian = Recipient("client:c1", phones=((PHONE, "mobile"),), region="Новосибирск")
    assert verdict(req(category="service"), state(), siberian, evening_utc) == ("deferred", "quiet_hours")
    assert verdict(req(category="service"), state(), now=evening_utc) == ("send", None)
    sofia = Recipient("client:c1", phones=(("+359888123456", "mobile"),))
    at_2130_sofia = datetime(2026, 11, 20, 19, 30, tzinfo=UTC)
    st = PolicyState()
    assert verdict(req(category="service"), st, sofia, at_2130_sofia) == ("deferred", "quiet_hours")


def test_not_before_defers_and_lands_outside_quiet_hours() -> None:
    later = NOW + timedelta(hours=2)
    decision = decide(req(category="service", not_before=later), CLIENT, state(), POLICY, NOW)
    assert (decision.verdict, decision.reason, decision.deliver_after) == ("deferred", "not_before", later)
    at_night = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)  # 22:00 in Moscow
    decision = decide(req(category="service", not_before=at_night), CLIENT, state(), POLICY, NOW)
    assert decision.deliver_after == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


def test_a_dedupe_key_claimed_by_another_request_is_a_duplicate() -> None:
    st = state(sms="granted")
    st.dedupe["client:c1:sms:promo-1"] = ("other", NOW - timedelta(days=1))
    assert verdict(req(dedupe_key="promo-1"), st) == ("suppressed", "duplicate")
    st.dedupe["client:c1:sms:promo-1"] = ("other", NOW - timedelta(days=31))
    assert verdict(req(dedupe_key="promo-1"), st) == ("send", None)


def test_an_unknown_recipient_waits_for_the_grace_period_then_fails() -> None:
    assert verdict(req(first_seen=NOW), state(), None) == ("wait", "unknown_recipient")
    late = NOW + timedelta(minutes=11)
    assert verdict(req(first_seen=NOW), state(), None, late) == ("failed", "unknown_recipient")


def test_an_alert_waits_for_its_client_like_an_unknown_recipient_then_goes_without_it() -> None:
    manager = Recipient("manager:m1", name="Анна", emails=("anna@company.example",), locale="ru")
    alert = Request(request_id="a1", correlation_id="a1", channel="email", category="internal",
                    template="manager_new_client", params={}, manager_id="m1", first_seen=NOW,
                    subject_client_id="c1")
    assert decide(alert, manager, state(), POLICY, NOW).verdict == "wait"
    assert decide(alert, manager, state(), POLICY, NOW).reason == "unknown_subject"
    assert decide(alert, manager, state(), POLICY, NOW, subject=CLIENT).verdict == "send"
    late = NOW + timedelta(seconds=POLICY.unknown_recipient_grace_s)
    assert decide(alert, manager, state(), POLICY, late).verdict == "send"
    assert decide(alert, None, state(), POLICY, NOW).reason == "unknown_recipient", "the recipient is checked first"


def test_an_alert_shows_its_client_masked_and_unknown_or_erased_clients_as_a_dash() -> None:
    shown = subject_params(CLIENT)
    assert shown["client_name"] == "Иван" and PHONE not in shown["contacts"] and EMAIL not in shown["contacts"]
    assert PHONE[-2:] in shown["contacts"]
    dash = {"client_name": "—", "contacts": "—"}
    assert subject_params(None) == dash
    assert subject_params(Recipient("client:c1", erased=True)) == dash


def test_quiet_hours_can_be_switched_off() -> None:
    never = Policy(quiet_start=time(0, 0), quiet_end=time(0, 0))
    night = datetime(2026, 11, 20, 20, 30, tzinfo=UTC)
    assert verdict(req(category="service"), state(), now=night, policy=never) == ("send", None)


def test_an_alert_waiting_for_its_client_is_parked_and_keeps_the_client_id() -> None:
    alert = Request(request_id="a1", correlation_id="a1", channel="email", category="internal",
                    template="manager_new_client", params={}, manager_id="m1", first_seen=NOW,
                    subject_client_id="c1")
    assert request_from_doc(request_fields(alert)) == alert
    waiting = decide(alert, Recipient("manager:m1", emails=("m@company.example",)), state(), POLICY, NOW)
    fields = decided_fields(waiting, NOW, POLICY.recipient_retry_s)
    assert (fields["status"], fields["parked_reason"]) == ("parked", "subject")
    assert fields["due_at"] == NOW + timedelta(seconds=POLICY.recipient_retry_s)
