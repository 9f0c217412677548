"""SMS provider adapters of two public API shapes (Twilio Messages, SMS.ru) and failover between them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx
import structlog

from notify.breaker import CircuitBreaker

log = structlog.get_logger(__name__)

TWILIO_ADDRESS_ERRORS = frozenset({21211, 21214, 21407, 21408, 21610, 21612, 21614})
SMSRU_ADDRESS_ERRORS = frozenset({202, 207, 208})


class DeliveryError(Exception):
    """A provider did not take the message; `permanent` means no retry can help this address."""

    def __init__(self, provider: str, reason: str, *, permanent: bool) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider, self.reason, self.permanent = provider, reason, permanent


@dataclass(frozen=True)
class SmsAccepted:
    """A provider accepted an SMS."""

    provider: str
    message_id: str


class SmsProvider:
    """One SMS provider's HTTP API."""

    name = "sms"

    async def send(self, http: httpx.AsyncClient, *, to: str, body: str, sender: str, key: str) -> str:
        """Submit one SMS; return the provider's message id or raise DeliveryError."""
        raise NotImplementedError


class TwilioStyle(SmsProvider):
    """Twilio's Messages API: form POST to /2010-04-01/Accounts/{Sid}/Messages.json with basic auth."""

    name = "twilio"

    def __init__(self, base_url: str, account_sid: str, auth_token: str | None) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token or "")

    async def send(self, http: httpx.AsyncClient, *, to: str, body: str, sender: str, key: str) -> str:
        """POST To/From/Body; the idempotency token makes a retried submission one message."""
        response = await http.post(self.url, data={"To": to, "From": sender, "Body": body}, auth=self.auth,
                                   headers={"I-Twilio-Idempotency-Token": key})
        if response.status_code in (200, 201):
            return str(response.json()["sid"])
        code = _json(response).get("code")
        permanent = response.status_code == 400 and code in TWILIO_ADDRESS_ERRORS
        raise DeliveryError(self.name, f"http_{response.status_code}:{code}", permanent=permanent)


class SmsRuStyle(SmsProvider):
    """SMS.ru's API: POST /sms/send with api_id, to, msg, json=1; per-number status codes in the answer."""

    name = "smsru"

    def __init__(self, base_url: str, api_id: str | None) -> None:
        self.url = f"{base_url.rstrip('/')}/sms/send"
        self.api_id = api_id or ""

    async def send(self, http: httpx.AsyncClient, *, to: str, body: str, sender: str, key: str) -> str:
        """POST the message; a number-level error code is permanent for that address."""
        number = to.lstrip("+")
        response = await http.post(self.url, data={"api_id": self.api_id, "to": number, "msg": body,
                                                   "from": sender, "json": "1"})
        if response.status_code != 200:
            raise DeliveryError(self.name, f"http_{response.status_code}", permanent=False)
        answer = _json(response)
        item = (answer.get("sms") or {}).get(number) or {}
        if answer.get("status") == "OK" and item.get("status") == "OK":
            return str(item.get("sms_id"))
        code = item.get("status_code") or answer.get("status_code")
        raise DeliveryError(self.name, f"status_{code}", permanent=code in SMSRU_ADDRESS_ERRORS)


def _json(response: httpx.Response) -> dict:
    """The response's JSON object, or empty when it has none."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class SmsGateway:
    """Sends through the providers in order, skipping those whose breaker is open, failing over on errors."""

    def __init__(self, providers: Sequence[SmsProvider], breakers: dict[str, CircuitBreaker], *,
                 sender: str, timeout_s: float) -> None:
        self.providers = list(providers)
        self.breakers = breakers
        self.sender = sender
        self.timeout_s = timeout_s

    async def send(self, *, to: str, body: str, key: str, prefer: str | None = None,
                   before_call: Callable[[str], Awaitable[None]] | None = None) -> SmsAccepted:
        """Submit one SMS; `before_call` records which provider is about to be called (the intent)."""
        order = sorted(self.providers, key=lambda p: p.name != prefer)
        failures: list[str] = []
        async with httpx.AsyncClient(timeout=self.timeout_s) as http:
            for provider in order:
                breaker = self.breakers[provider.name]
                if not breaker.allow():
                    failures.append(f"{provider.name}:breaker_open")
                    continue
                if before_call:
                    await before_call(provider.name)
                try:
                    message_id = await provider.send(http, to=to, body=body, sender=self.sender, key=key)
                except DeliveryError as error:
                    if error.permanent:
                        breaker.success()
                        raise
                    breaker.failure()
                    failures.append(f"{provider.name}:{error.reason}")
                except httpx.HTTPError as error:
                    breaker.failure()
                    failures.append(f"{provider.name}:{type(error).__name__}")
                else:
                    breaker.success()
                    return SmsAccepted(provider.name, message_id)
                log.warning("notify.sms_provider_failed", provider=provider.name, breaker=breaker.state,
                            reason=failures[-1])
        raise DeliveryError("sms", ";".join(failures) or "no_provider", permanent=False)
