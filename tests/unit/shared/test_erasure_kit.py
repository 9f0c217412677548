"""Erasure's shared parts: keyed hashes, the clients.erased report, the personal-data gate of a route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from clientbase.api_tokens import TokenGate
from clientbase.erasure.export import require_pii
from clientbase.erasure.hashing import PREFIX, HashKeyMissing, KeyedHasher
from clientbase.erasure.kit import ERASURES, erased_event
from clientbase.events.inbound import ErasureRequested
from clientbase.json_api import JsonApi, Request, Route


def request(**fields: Any) -> ErasureRequested:
    return ErasureRequested.model_validate({"event_id": "r-1", "occurred_at": "2026-11-25T09:00:00+03:00",
                                            "requested_by": "dpo", "legal_basis": "gdpr-art-17", **fields})


def test_keyed_hashes_depend_on_the_key_and_never_show_the_value() -> None:
    one, other = KeyedHasher(b"key-1"), KeyedHasher(b"key-2")
    hashed = one.hash("phone:+79161234567")
    assert hashed.startswith(PREFIX) and "9161234567" not in hashed
    assert hashed == one.hash("phone:+79161234567") != other.hash("phone:+79161234567")
    assert not KeyedHasher(None).ready
    with pytest.raises(HashKeyMissing):
        KeyedHasher(None).hash("phone:+79161234567")


def test_a_request_names_its_client_somehow_and_lists_the_merged_ones() -> None:
    with pytest.raises(ValidationError):
        request()
    assert request(client_id="c-1", merged_client_ids=["c-2", "c-1"]).client_ids() == ["c-1", "c-2"]
    assert request(phone="8 916 123-45-67").client_ids() == []


def test_the_report_sums_the_client_and_its_merged_clients_with_a_deterministic_id() -> None:
    asked = request(client_id="c-1", merged_client_ids=["c-2"])
    report = {"c-1": {"client_facts": 2}, "c-2": {"client_facts": 1, "identities": 1}, "c-9": {"client_facts": 5}}
    event = erased_event("intake", asked, report, marked=2)
    assert event.collections == {"client_facts": 3, "identities": 1, ERASURES: 2} and event.documents == 6
    assert event.event_id == erased_event("intake", asked, {}, marked=0).event_id
    assert (event.client_id, event.request_event_id, event.causation_id) == ("c-1", "r-1", "r-1")


async def guarded(request: Request) -> tuple[int, Any]:
    require_pii(request)
    return 200, {"ok": True}


async def test_a_route_with_its_own_gate_ignores_the_api_token_and_needs_the_pii_scope() -> None:
    app = JsonApi("test", "/clients", TokenGate("TEST_API_TOKEN", "api:pii"), [
        Route("GET", "/clients/{client_id}/export", guarded, "export", gate=TokenGate("PRIVACY_API_TOKEN",
                                                                                      "dpo:pii,viewer"))])

    async def status(token: str) -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            answer = await http.get("/clients/c-1/export", headers={"Authorization": f"Bearer {token}"})
        return answer.status_code

    assert [await status(t) for t in ("dpo", "viewer", "api")] == [200, 403, 401]
    document = app.openapi()["paths"]["/clients/{client_id}/export"]["get"]
    assert "PRIVACY_API_TOKEN" in document["responses"]["503"]["description"]
