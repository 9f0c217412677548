"""The identity rule: which client a lead belongs to, given who owns its phones and emails."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from intake.domain import Lead
from intake.normalize import name_key


@dataclass(frozen=True)
class KnownClient:
    """What the matching rule needs to know about an existing client."""

    client_id: str
    name_keys: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Resolution:
    """Which client a lead belongs to, which clients merge into it, and whether it joins via a switchboard."""

    survivor: str
    merged: tuple[str, ...] = ()
    switchboard: bool = False
    ignored_weak: tuple[str, ...] = ()


def _survivor(ids: set[str]) -> str:
    """The client whose first lead is oldest survives (ids sort by that time), so merges never form a cycle."""
    return min(ids)


def resolve_identity(lead: Lead, owners: Mapping[str, str], known: Mapping[str, KnownClient]) -> Resolution:
    """Decide the lead's client from the owners of its identity keys (key -> client id)."""
    strong = {owners[k.key] for k in lead.identity_keys() if k.strong and k.key in owners}
    weak = {owners[k.key] for k in lead.identity_keys() if not k.strong and k.key in owners} - strong
    lead_name = name_key(lead.name)

    def same_person(client_id: str) -> bool:
        names = known[client_id].name_keys if client_id in known else frozenset()
        return lead_name is None or not names or lead_name in names

    same = strong | {w for w in weak if same_person(w)}
    if same:
        survivor = _survivor(same)
        return Resolution(survivor, tuple(sorted(same - {survivor})), ignored_weak=tuple(sorted(weak - same)))
    return Resolution(_survivor(weak), switchboard=True)
