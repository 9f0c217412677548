"""Notify's erasure rules: which ledger keys a client snapshot's contact points have."""

from __future__ import annotations

from notify.consent import address_key
from notify.erasure import address_keys


def test_a_snapshot_gives_the_ledger_keys_of_its_phones_and_emails() -> None:
    client = {"_id": "c-1", "phones": [{"e164": "+79161234567", "type": "mobile"}], "emails": ["m@mail.example"]}
    assert address_keys(client) == {address_key("sms", "+79161234567"): "sms",
                                    address_key("email", "m@mail.example"): "email"}
    assert address_keys({"_id": "c-2", "erased": True}) == {}

