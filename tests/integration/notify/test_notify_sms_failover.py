"""SMS providers against local HTTP servers: failover on errors and timeouts, the breaker opening, idempotency."""

from __future__ import annotations

import pytest

from notify.breaker import CircuitBreaker
from notify.providers import DeliveryError, SmsGateway, SmsRuStyle, TwilioStyle

from notify_kit import SinkServer, unique_phone

pytestmark = pytest.mark.integration


def gateway(first: SinkServer, second: SinkServer, timeout_s: float = 2.0) -> SmsGateway:
    providers = [TwilioStyle(first.url, "AC-test", "token"), SmsRuStyle(second.url, "api-id")]
    breakers = {p.name: CircuitBreaker(failures=3, reset_s=60.0) for p in providers}
    return SmsGateway(providers, breakers, sender="ClientBase", timeout_s=timeout_s)


async def test_errors_fail_over_to_the_second_provider_and_open_the_breaker() -> None:
    async with SinkServer() as first, SinkServer() as second:
        first.sink.mode = "error"
        sms = gateway(first, second)
        accepted = [await sms.send(to=unique_phone(), body="Заказ отгружен", key=f"k{n}")
                    for n in range(6)]
        assert {a.provider for a in accepted} == {"smsru"}
        assert first.sink.calls == 3, "the breaker opened after three failures and stopped calling the provider"
        assert sms.breakers["twilio"].state == "open"
        assert len(second.sink.messages) == 6 and second.sink.messages[0]["api"] == "smsru"


async def test_timeouts_fail_over_and_open_the_breaker() -> None:
    async with SinkServer() as first, SinkServer() as second:
        first.sink.mode, first.sink.delay_s = "timeout", 3.0
        sms = gateway(first, second, timeout_s=0.3)
        for n in range(5):
            assert (await sms.send(to=unique_phone(), body="hello", key=f"t{n}")).provider == "smsru"
        assert first.sink.calls == 3 and sms.breakers["twilio"].state == "open"
        assert len(second.sink.messages) == 5


async def test_both_failing_is_a_transient_error_and_recovery_closes_the_breaker() -> None:
    async with SinkServer() as first, SinkServer() as second:
        first.sink.mode = second.sink.mode = "error"
        sms = gateway(first, second)
        with pytest.raises(DeliveryError) as failed:
            await sms.send(to=unique_phone(), body="hello", key="x")
        assert not failed.value.permanent
        first.sink.mode = "ok"
        assert (await sms.send(to=unique_phone(), body="hello", key="y")).provider == "twilio"
        assert sms.breakers["twilio"].state == "closed"


async def test_the_idempotency_key_makes_a_resend_one_message() -> None:
    async with SinkServer() as first, SinkServer() as second:
        sms = gateway(first, second)
        phone = unique_phone()
        one = await sms.send(to=phone, body="Ваш код 1234", key="request-1")
        two = await sms.send(to=phone, body="Ваш код 1234", key="request-1")
        assert one.message_id == two.message_id and len(first.sink.messages) == 1
        assert first.sink.messages[0]["num_segments"] == "1"


async def test_an_invalid_number_is_permanent_and_not_failed_over() -> None:
    async with SinkServer() as first, SinkServer() as second:
        sms = gateway(first, second)
        with pytest.raises(DeliveryError) as refused:
            await sms.send(to="+7000", body="hello", key="bad")
        assert refused.value.permanent and second.sink.calls == 0
