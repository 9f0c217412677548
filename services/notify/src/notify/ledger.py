"""Builds append-only consent ledger entries with their evidence, keyed by channel and address."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import phonenumbers

from clientbase.events.envelope import derived_event_id

from notify.consent import address_key, normalize_email

EntryKind = Literal["grant", "revoke", "confirm"]


def normalize_address(channel: str, address: str, default_region: str | None = None) -> str:
    """A phone in E.164 (when it parses) or a lower-cased email."""
    if channel == "email":
        return normalize_email(address)
    try:
        number = phonenumbers.parse(address, default_region)
    except phonenumbers.NumberParseException:
        return re.sub(r"[^\d+]", "", address)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def entry(channel: str, address: str, kind: EntryKind, *, at: datetime, source: str, identity: str,
          needs_confirmation: bool = False, **evidence: Any) -> dict[str, Any]:
    """One ledger entry; `identity` names the evidence, so the same evidence recorded twice is one entry."""
    key = address_key(channel, address)
    return {
        "_id": derived_event_id("consent", key, kind, identity), "key": key, "channel": channel,
        "address": address, "kind": kind, "at": at, "source": source,
        "needs_confirmation": needs_confirmation and kind == "grant",
        "evidence": {k: v for k, v in evidence.items() if v is not None},
    }
