"""Scoped bearer tokens: parsing the setting, finding the caller, the `pii` scope."""

from __future__ import annotations

from pydantic import SecretStr

from clientbase.api_tokens import TokenGate, parse_tokens


def auth(value: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", value.encode())]


def test_setting_lists_tokens_with_optional_scopes() -> None:
    tokens = parse_tokens(SecretStr(" full:pii+admin , plain ,,"))
    assert [(t.secret, sorted(t.scopes)) for t in tokens] == [(b"full", ["admin", "pii"]), (b"plain", [])]
    assert parse_tokens(None) == () and parse_tokens("") == ()


def test_caller_is_found_by_bearer_token_and_only_a_pii_token_sees_contacts() -> None:
    gate = TokenGate("X_API_TOKEN", SecretStr("full:pii,plain"))
    full, plain = gate.caller(auth("Bearer full")), gate.caller(auth("bearer plain"))
    assert full is not None and full.sees_pii
    assert plain is not None and not plain.sees_pii
    assert full.token_id != plain.token_id and "full" not in full.token_id
    assert gate.caller(auth("Bearer wrong")) is None
    assert gate.caller(auth("Basic full")) is None and gate.caller([]) is None


def test_a_gate_without_tokens_is_not_configured() -> None:
    assert not TokenGate("X_API_TOKEN", None).configured
    assert TokenGate("X_API_TOKEN", "t").configured
