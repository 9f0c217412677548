"""The notification policy (DESIGN §3.6): pure decisions in the contract's order of checks, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal

from notify.consent import ConsentStatus, address_key
from notify.zones import quiet_hours_end, resolve_zone

Category = Literal["marketing", "service", "internal"]
Verdict = Literal["send", "suppressed", "deferred", "failed", "wait"]
SMS_TYPES = frozenset({"mobile", "fixed_or_mobile"})
STAGES = ("recipient", "opt_out", "consent", "suppression", "frequency", "timing")


@dataclass(frozen=True)
class Policy:
    """The rule configuration of the pipeline."""

    marketing_window_days: float = 7.0
    marketing_per_window: int = 1
    dedupe_days: int = 30
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)
    company_timezone: str = "Europe/Moscow"
    country_timezones: Mapping[str, str] = field(default_factory=dict)
    unknown_recipient_grace_s: float = 600.0
    recipient_retry_s: float = 30.0


@dataclass(frozen=True)
class Request:
    """A notification request as the pipeline sees it, from the topic or raised by notify itself."""

    request_id: str
    correlation_id: str
    channel: str
    category: Category
    template: str
    params: Mapping[str, Any]
    client_id: str | None = None
    manager_id: str | None = None
    dedupe_key: str | None = None
    not_before: datetime | None = None
    address: str | None = None
    first_seen: datetime | None = None
    subject_client_id: str | None = None

    @property
    def recipient_key(self) -> str:
        """Who it is for: `client:<id>` or `manager:<id>`."""
        if self.client_id:
            return f"client:{self.client_id}"
        return f"manager:{self.manager_id}" if self.manager_id else f"address:{self.address}"

    @property
    def dedupe_id(self) -> str | None:
        """Identity of the dedupe claim: recipient, channel and key."""
        return f"{self.recipient_key}:{self.channel}:{self.dedupe_key}" if self.dedupe_key else None


@dataclass(frozen=True)
class Recipient:
    """A client or manager with the contact points notify knows."""

    key: str
    name: str | None = None
    phones: tuple[tuple[str, str], ...] = ()
    emails: tuple[str, ...] = ()
    locale: str | None = None
    region: str | None = None
    country: str | None = None
    erased: bool = False


@dataclass
class PolicyState:
    """What the checks read, loaded in bulk for a batch and updated as the batch is decided."""

    consents: dict[str, ConsentStatus] = field(default_factory=dict)
    suppressed: set[str] = field(default_factory=set)
    marketing_sends: dict[str, list[datetime]] = field(default_factory=dict)
    dedupe: dict[str, tuple[str, datetime]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The pipeline's verdict on one request, with the address and time it is about."""

    request: Request
    verdict: Verdict
    reason: str | None = None
    address: str | None = None
    deliver_after: datetime | None = None
    locale: str | None = None
    message: Mapping[str, Any] | None = None


def frequency_keys(request: Request, address: str) -> tuple[str, str]:
    """The two frequency counters a marketing message counts against: client+channel and address+channel."""
    return f"{request.recipient_key}:{request.channel}", address_key(request.channel, address)


def candidates(request: Request, recipient: Recipient) -> tuple[list[str], str]:
    """The usable addresses for the channel, or the reason there are none (`no_address`, `not_mobile`)."""
    if request.address:
        return [request.address], ""
    if request.channel == "email":
        return list(recipient.emails), "no_address"
    if not recipient.phones:
        return [], "no_address"
    mobiles = [e164 for e164, kind in recipient.phones if kind in SMS_TYPES]
    return mobiles, "not_mobile"


def check_address(request: Request, address: str, state: PolicyState, policy: Policy,
                  now: datetime) -> tuple[int, str | None]:
    """Run opt-out, consent, suppression and frequency for one address: (stage reached, refusal or None)."""
    category, key = request.category, address_key(request.channel, address)
    status = state.consents.get(key, "none")
    if category != "internal" and status == "opted_out":
        return 1, "opted_out"
    if category == "marketing" and status == "none":
        return 2, "no_consent"
    if category == "marketing" and status == "unconfirmed":
        return 2, "unconfirmed"
    if key in state.suppressed:
        return 3, "suppressed_address"
    if category == "marketing":
        since = now - timedelta(days=policy.marketing_window_days)
        for counter in frequency_keys(request, address):
            if sum(1 for at in state.marketing_sends.get(counter, []) if at > since) >= policy.marketing_per_window:
                return 4, "frequency"
    return 5, None


def timing(request: Request, recipient: Recipient, address: str, policy: Policy,
           now: datetime) -> tuple[str, datetime] | None:
    """Why and until when a message waits: `not_before`, then quiet hours at the recipient's local time."""
    start = max(now, request.not_before) if request.not_before else now
    if request.category == "internal":
        return ("not_before", start) if start > now else None
    zone = resolve_zone(region=recipient.region, phone=address if request.channel == "sms" else None,
                        country=recipient.country, country_zones=policy.country_timezones,
                        company_zone=policy.company_timezone)
    opens = quiet_hours_end(start, zone, policy.quiet_start, policy.quiet_end)
    if start > now:
        return "not_before", opens or start
    return ("quiet_hours", opens) if opens else None


def within_grace(request: Request, policy: Policy, now: datetime) -> bool:
    """Whether a request is still young enough to wait for a client or manager notify has not seen yet."""
    return (now - (request.first_seen or now)).total_seconds() < policy.unknown_recipient_grace_s


def decide(request: Request, recipient: Recipient | None, state: PolicyState, policy: Policy,
           now: datetime, subject: Recipient | None = None) -> Decision:
    """Decide one request, in the contract's order; a send or park updates `state` for the rest of the batch.

    An alert about a client (`subject_client_id`) waits for that client's snapshot like a request waits for an
    unknown recipient; past the same grace period it goes without the client's name rather than never.
    """
    claim = request.dedupe_id and state.dedupe.get(request.dedupe_id)
    if claim and claim[0] != request.request_id and claim[1] > now - timedelta(days=policy.dedupe_days):
        return Decision(request, "suppressed", "duplicate")
    if recipient is None:
        if within_grace(request, policy, now):
            return Decision(request, "wait", "unknown_recipient")
        return Decision(request, "failed", "unknown_recipient")
    if request.subject_client_id and subject is None and within_grace(request, policy, now):
        return Decision(request, "wait", "unknown_subject")
    if request.dedupe_id:
        state.dedupe.setdefault(request.dedupe_id, (request.request_id, now))
    if recipient.erased:
        return Decision(request, "suppressed", "erased")
    addresses, missing = candidates(request, recipient)
    if not addresses:
        return Decision(request, "suppressed", missing)
    checked = [(address, *check_address(request, address, state, policy, now)) for address in addresses]
    passing = [address for address, _, refusal in checked if refusal is None]
    if not passing:
        furthest = max(checked, key=lambda c: c[1])
        return Decision(request, "suppressed", furthest[2], address=furthest[0])
    address = passing[0]
    wait = timing(request, recipient, address, policy, now)
    if wait:
        return Decision(request, "deferred", wait[0], address=address, deliver_after=wait[1],
                        locale=recipient.locale)
    if request.category == "marketing":
        for counter in frequency_keys(request, address):
            state.marketing_sends.setdefault(counter, []).append(now)
    return Decision(request, "send", None, address=address, locale=recipient.locale)
