"""The shape of a client record: immutable fragments, one per lead, folded into a view when read.

FerretDB v1 does not apply concurrent updates of one document atomically (read-modify-write without a
lock), so intake never updates a client document: each lead inserts its own fragment (insert is atomic and
idempotent by `_id`), and the record is the fold of all fragments of the client and of the clients merged
into it. The fold is order-independent: maps keyed by a hash of each value, `first_seen_at` kept by min,
`last_seen_at`/`confirmed_at` by max, lists as unions, and display values chosen when reading (earliest
name, latest region), never by overwriting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

from intake.domain import Lead
from intake.normalize import name_key

MAPS = ("phones", "emails", "names", "contacts", "sources", "consents")
ATTRS = ("company", "position", "region", "locale", "language", "country", "birthday")
MIN_FIELDS = frozenset({"first_seen_at", "created_at", "first_source"})
MAX_FIELDS = frozenset({"last_seen_at", "confirmed_at", "last_confirmed_at", "is_company"})


def slot(value: str) -> str:
    """A map key for a value: stable, short, and free of the characters MongoDB forbids in field names."""
    return hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:16]


def fragment_from_lead(lead: Lead, *, switchboard: bool = False) -> dict[str, Any]:
    """The part of a client record one lead contributes."""
    at, src = lead.occurred_at, lead.source_ref
    first_source = f"{at.astimezone(UTC).isoformat()}|{src}"  # $min of this keeps the earliest source
    seen = {"first_seen_at": at, "last_seen_at": at}
    fragment: dict[str, Any] = {
        "created_at": at, "last_confirmed_at": at, "leads": [lead.lead_event_id],
        "is_company": bool(lead.company) or switchboard,
        "phones": {slot(p.e164): {"e164": p.e164, "type": p.type, "country": p.country, "first_seen_at": at,
                                  "confirmed_at": at, "sources": [src], "first_source": first_source}
                   for p in lead.phones},
        "emails": {slot(e): {"address": e, "first_seen_at": at, "confirmed_at": at, "sources": [src],
                             "first_source": first_source}
                   for e in lead.emails},
        "sources": {slot(src): {**lead.source, "first_seen_at": at}},
        "consents": {slot(f"{c.channel}|{c.address}|{c.granted}|{c.text_version}|{c.at.isoformat()}"): {
            "channel": c.channel, "address": c.address, "granted": c.granted, "text": c.text,
            "text_version": c.text_version, "at": c.at, "ip": c.ip, "source": c.source,
        } for c in lead.consents},
        "attrs": {name: {slot(value): {"value": value, **seen}}
                  for name in ATTRS if (value := getattr(lead, name))},
        "names": {}, "contacts": {},
    }
    if lead.name and (key := name_key(lead.name)):
        fragment["names"] = {slot(lead.name): {"name": lead.name, "key": key, "originals": [lead.original_name],
                                                **seen}}
        fragment["contacts"] = {slot(key): {"key": key, "position": lead.position,
                                            "phones": [p.e164 for p in lead.phones], "emails": list(lead.emails),
                                            **seen}}
    return fragment


def fold(client_id: str, fragments: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The client record made of every fragment of it and of the clients merged into it, in any order."""
    record: dict[str, Any] = {"_id": client_id}
    ordered = sorted(fragments, key=lambda f: (f["created_at"], f["leads"][0]))  # plain values: latest lead wins
    for fragment in ordered:
        for key, value in fragment.items():
            if key in MAPS:
                for entry_slot, entry in value.items():
                    target = record.setdefault(key, {}).setdefault(entry_slot, {})
                    for name, item in entry.items():
                        _combine(target, name, item)
            elif key == "attrs":
                for attr, entries in value.items():
                    for entry_slot, entry in entries.items():
                        target = record.setdefault("attrs", {}).setdefault(attr, {}).setdefault(entry_slot, {})
                        for name, item in entry.items():
                            _combine(target, name, item)
            else:
                _combine(record, key, value)
    return record


def _combine(target: dict[str, Any], name: str, value: Any) -> None:
    """Add one value to a record field: lists are unions, times keep min or max, other values the latest."""
    if value is None:
        return
    current = target.get(name)
    if isinstance(value, list):
        merged = list(current or [])
        merged += [item for item in value if item is not None and item not in merged]
        target[name] = merged
    elif current is not None and name in MIN_FIELDS:
        target[name] = min(current, value)
    elif current is not None and name in MAX_FIELDS:
        target[name] = max(current, value)
    else:
        target[name] = value


def _by_first_seen(entries: Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Map entries oldest first, ties broken by slot so every replica reads the same order."""
    return [entries[k] for k in sorted(entries, key=lambda k: (entries[k].get("first_seen_at") is None,
                                                                 entries[k].get("first_seen_at"), k))]


def _source_of(entry: Mapping[str, Any]) -> str | None:
    """The source that first gave a contact point."""
    first = entry.get("first_source")
    return first.split("|", 1)[1] if isinstance(first, str) and "|" in first else None


def _latest(record: Mapping[str, Any], attr: str) -> str | None:
    """The most recently confirmed value of an attribute such as region."""
    entries = record.get("attrs", {}).get(attr, {})
    if not entries:
        return None
    return max(entries.values(), key=lambda e: (e.get("last_seen_at"), e.get("value")))["value"]


def view_from_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The client as the outside world sees it, built from the stored record."""
    names = _by_first_seen(record.get("names", {}))
    first_name_by_key: dict[str, str] = {}
    for entry in names:
        first_name_by_key.setdefault(entry["key"], entry["name"])
    is_company = bool(record.get("is_company"))
    company = _latest(record, "company")
    contacts = [{
        "name": first_name_by_key.get(c["key"]), "position": c.get("position"),
        "phones": sorted(c.get("phones", [])), "emails": sorted(c.get("emails", [])), "archived": False,
    } for c in _by_first_seen(record.get("contacts", {}))] if is_company else []
    return {
        "client_id": record["_id"],
        "kind": "company" if is_company else "person",
        "name": company if is_company else (names[0]["name"] if names else None),
        "phones": [{"e164": p["e164"], "type": p["type"], "source": _source_of(p),
                    "confirmed_at": p.get("confirmed_at")} for p in _by_first_seen(record.get("phones", {}))],
        "emails": [{"address": e["address"], "source": _source_of(e),
                    "confirmed_at": e.get("confirmed_at")} for e in _by_first_seen(record.get("emails", {}))],
        "company": company,
        "position": _latest(record, "position"),
        "contacts": contacts,
        "region": _latest(record, "region"),
        "country": _latest(record, "country") or next(
            (p.get("country") for p in _by_first_seen(record.get("phones", {})) if p.get("country")), None),
        "locale": _latest(record, "locale"),
        "language": _latest(record, "language"),
        "birthday": _latest(record, "birthday"),
        "consents": sorted(record.get("consents", {}).values(),
                           key=lambda c: (c["at"], c["channel"], c["address"], c["granted"])),
        "last_confirmed_at": record.get("last_confirmed_at"),
        "first_source": next(iter(_by_first_seen(record.get("sources", {}))), None),
    }
