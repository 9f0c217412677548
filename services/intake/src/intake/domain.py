"""Intake's core vocabulary without I/O: leads, identity keys, rejection reasons and completeness."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clientbase.events.envelope import derived_event_id

from intake.normalize import Phone

SHARED_LINE_TYPES = frozenset({"fixed", "toll_free", "other"})  # numbers several people may answer: weak keys


@dataclass(frozen=True)
class Reason:
    """One machine-readable reason an input could not be used."""

    code: str
    field: str | None
    message: str


class Rejected(Exception):
    """An input that no retry can make usable; it is quarantined and reported on `leads.rejected`."""

    def __init__(self, reasons: list[Reason], lead_event_id: str | None = None) -> None:
        super().__init__("; ".join(f"{r.code}:{r.field}" for r in reasons))
        self.reasons = reasons
        self.lead_event_id = lead_event_id


@dataclass(frozen=True)
class IntakePolicy:
    """The configurable parts of the rules: default region, honeypot fields and callback forms."""

    default_region: str | None = "RU"
    honeypot_fields: tuple[str, ...] = ("website",)
    callback_form_ids: tuple[str, ...] = ("callback",)


@dataclass(frozen=True)
class Consent:
    """Consent evidence for one channel and address, as the form recorded it."""

    channel: str
    address: str
    granted: bool
    text: str | None
    text_version: str | None
    at: datetime
    ip: str | None
    source: str


@dataclass(frozen=True)
class IdentityKey:
    """A contact point that identifies a client; a fixed line is weak (a switchboard may be shared)."""

    key: str
    strong: bool


@dataclass(frozen=True)
class Lead:
    """A normalized lead from a form or a call, ready to be matched to a client."""

    lead_event_id: str
    occurred_at: datetime
    source_ref: str
    source: Mapping[str, Any]
    phones: tuple[Phone, ...] = ()
    emails: tuple[str, ...] = ()
    name: str | None = None
    original_name: str | None = None
    company: str | None = None
    position: str | None = None
    region: str | None = None
    locale: str | None = None
    language: str | None = None
    consents: tuple[Consent, ...] = ()
    callback_requested: bool = False
    missed_inbound: bool = False
    manager_id: str | None = None
    birthday: str | None = None
    warnings: tuple[Reason, ...] = ()

    @property
    def country(self) -> str | None:
        """The country of the lead's first phone."""
        return self.phones[0].country if self.phones else None

    def identity_keys(self) -> list[IdentityKey]:
        """Every key that identifies this lead's client, in a fixed order so replicas claim alike."""
        keys = [IdentityKey(email_key(e), True) for e in self.emails]
        keys += [IdentityKey(phone_key(p.e164), p.type not in SHARED_LINE_TYPES) for p in self.phones]
        return sorted(set(keys), key=lambda k: k.key)


def phone_key(e164: str) -> str:
    """Identity key of a phone number."""
    return f"phone:{e164}"


def email_key(address: str) -> str:
    """Identity key of an email address."""
    return f"email:{address}"


def candidate_client_id(lead_event_id: str, occurred_at: datetime) -> str:
    """The id a lead's client gets if it is new: the same on every redelivery, and sorting oldest lead first."""
    stamp = occurred_at.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"cl-{stamp}-{derived_event_id('client', lead_event_id).replace('-', '')[:16]}"


def missing_fields(view: Mapping[str, Any]) -> list[str]:
    """Which expected fields of a client record are empty (DESIGN §2.1 completeness)."""
    checks = {
        "name": view.get("name"), "phone": view.get("phones"), "email": view.get("emails"),
        "region": view.get("region"), "source": view.get("lead_source"),
    }
    if view.get("kind") == "company":
        contacts = view.get("contacts") or []
        checks["decision_maker"] = any(c.get("name") for c in contacts)
        checks["position"] = any(c.get("position") for c in contacts)
    return [name for name, value in checks.items() if not value]
