"""The consent ledger's rules: address keys, folding an append-only history, SMS keywords."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

ConsentStatus = Literal["none", "granted", "unconfirmed", "opted_out"]
Keyword = Literal["stop", "start"]

STOP_WORDS = frozenset({
    "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "opt out",
    "стоп", "отписка", "отписаться", "отказ", "отпиши", "нет",
    "отписване", "спри", "не",
    "spire", "dezabonare", "dezabonez", "renunt", "renunț", "nu",
})
START_WORDS = frozenset({
    "start", "unstop", "subscribe", "старт", "подписка", "да", "pornire", "porneste", "abonare",
})


def normalize_email(address: str) -> str:
    """An email address as the ledger keys it: trimmed and lower-cased."""
    return address.strip().lower()


def address_key(channel: str, address: str) -> str:
    """The ledger key of a contact point: channel and normalized address."""
    normalized = normalize_email(address) if channel == "email" else re.sub(r"[^\d+]", "", address)
    return f"{channel}:{normalized}"


def keyword_of(text: str) -> Keyword | None:
    """Whether an inbound SMS is an opt-out or opt-in keyword (ru, bg, ro, en; case and spacing insensitive)."""
    folded = unicodedata.normalize("NFC", text).casefold()
    words = re.sub(r"[^\w\s]", " ", folded).split()
    phrase = " ".join(words)
    if phrase in STOP_WORDS or (words and words[0] in STOP_WORDS and len(words) <= 2):
        return "stop"
    if phrase in START_WORDS or (words and words[0] in START_WORDS and len(words) <= 2):
        return "start"
    return None


def fold(entries: Iterable[Mapping[str, Any]]) -> ConsentStatus:
    """The state of one contact point from its history: the latest decision wins, an opt-out wins a tie.

    Entries have `kind` (`grant`, `revoke` or `confirm`), `at`, and for grants `needs_confirmation`.
    A grant that needs double opt-in counts only once the address was confirmed (at any time).
    """
    entries = list(entries)
    decisions = sorted((e for e in entries if e["kind"] in ("grant", "revoke")),
                       key=lambda e: (_aware(e["at"]), e["kind"] == "revoke"))
    if not decisions:
        return "none"
    latest = decisions[-1]
    if latest["kind"] == "revoke":
        return "opted_out"
    confirmed = any(e["kind"] == "confirm" for e in entries)
    if latest.get("needs_confirmation") and not confirmed:
        return "unconfirmed"
    return "granted"


def _aware(moment: datetime) -> datetime:
    """A stored time, made comparable (FerretDB and MongoDB hand back UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
