"""Small pure pieces of notify: ledger folding, SMS keywords, segments, tokens, templates, the breaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notify.breaker import CircuitBreaker
from notify.consent import fold, keyword_of
from notify.segments import encoding_of, segments
from notify.templates import TemplateProblem, Templates, language_of
from notify.tokens import BadToken, issue, verify

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def entry(kind: str, minutes: int, needs_confirmation: bool = False) -> dict[str, object]:
    return {"kind": kind, "at": T0 + timedelta(minutes=minutes), "needs_confirmation": needs_confirmation}


def test_the_latest_decision_wins_and_an_opt_out_wins_a_tie() -> None:
    assert fold([]) == "none"
    assert fold([entry("grant", 0), entry("revoke", 1)]) == "opted_out"
    assert fold([entry("revoke", 0), entry("grant", 1)]) == "granted"
    assert fold([entry("grant", 5), entry("revoke", 5)]) == "opted_out"


def test_a_grant_that_needs_double_opt_in_counts_once_confirmed() -> None:
    assert fold([entry("grant", 0, True)]) == "unconfirmed"
    assert fold([entry("grant", 0, True), entry("confirm", 1)]) == "granted"
    assert fold([entry("grant", 0, True), entry("confirm", 1), entry("revoke", 2)]) == "opted_out"


@pytest.mark.parametrize("text", [
    "STOP", " stop ", "Стоп", "СТОП!", "ОТПИСКА", "отказ", "НЕ", "SPIRE", "dezabonare", "Stop all",
])
def test_stop_keywords_in_four_languages(text: str) -> None:
    assert keyword_of(text) == "stop"


@pytest.mark.parametrize("text", ["START", "старт", "PORNIRE"])
def test_start_keywords(text: str) -> None:
    assert keyword_of(text) == "start"


def test_ordinary_replies_are_not_keywords() -> None:
    assert keyword_of("Когда доставка заказа?") is None


def test_segments_gsm7_and_ucs2() -> None:
    assert (encoding_of("Hello"), encoding_of("Привет")) == ("gsm7", "ucs2")
    assert [segments("a" * n) for n in (160, 161, 306, 307)] == [1, 2, 2, 3]
    assert [segments("я" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension characters count twice


def test_tokens_are_signed_expiring_and_bound_to_their_purpose() -> None:
    token = issue(b"k", "unsubscribe", "email", "a@b.example", now=1000, ttl_s=60)
    assert verify(b"k", token, "unsubscribe", now=1030).address == "a@b.example"
    for bad, purpose, now in ((token, "unsubscribe", 1100), (token, "confirm", 1030),
                              (token[:-2] + "xx", "unsubscribe", 1030)):
        with pytest.raises(BadToken):
            verify(b"k", bad, purpose, now=now)  # type: ignore[arg-type]
    with pytest.raises(BadToken):
        verify(b"other", token, "unsubscribe", now=1030)


@pytest.mark.parametrize("template", ["promo_generic", "order_status", "manager_new_client", "handover_reminder",
                                      "handover_overdue", "confirm_email"])
@pytest.mark.parametrize("locale", ["ru", "bg", "ro", "en"])
def test_every_template_has_every_locale(template: str, locale: str) -> None:
    params = {"offer": "o", "order_id": "1", "status": "s", "client_name": "c", "contacts": "x", "reason": "r",
              "deadline": "d", "manager_name": "m", "confirm_url": "u"}
    rendered = Templates().render(template, locale, params)
    assert rendered.locale == locale and rendered.subject and rendered.body


def test_templates_fall_back_to_english_and_never_half_render() -> None:
    assert language_of("de-DE") == "en" and language_of("ro_RO") == "ro"
    assert Templates().render("order_status", "de", {"order_id": "1", "status": "ok"}).locale == "en"
    with pytest.raises(TemplateProblem):
        Templates().render("order_status", "ru", {"order_id": "1"})
    with pytest.raises(TemplateProblem):
        Templates().render("no_such_template", "ru", {})


def test_the_breaker_opens_after_failures_and_half_opens_after_the_reset() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=2, reset_s=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.state == "half_open" and breaker.allow()
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 20.0
    breaker.success()
    assert breaker.state == "closed"
