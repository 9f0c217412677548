"""The JSON API kit: path templates, token checks, errors, call logs without query values, the OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from clientbase.api_tokens import TokenGate
from clientbase.json_api import ApiError, JsonApi, Request, Route


async def echo(request: Request) -> tuple[int, Any]:
    if request.params.get("client_id") == "missing":
        raise ApiError(404, "client_not_found", "no such client")
    return 200, {"params": request.params, "phone": request.one("phone"), "pii": request.caller.sees_pii}


def api(tokens: str | None = "full:pii,plain") -> JsonApi:
    return JsonApi("test", "/clients", TokenGate("TEST_API_TOKEN", tokens), [
        Route("GET", "/clients", echo, "find", query=(("phone", "a phone"),), pii=True),
        Route("GET", "/clients/{client_id}/owner", echo, "owner")])


async def call(app: JsonApi, method: str, path: str, token: str | None = "full", **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        return await http.request(method, path, headers=headers, **kw)


def test_templates_match_whole_paths_only() -> None:
    route = Route("GET", "/clients/{client_id}/owner", echo, "owner")
    assert route.match("/clients/c-1/owner") == {"client_id": "c-1"}
    assert route.match("/clients/c-1") is None and route.match("/clients//owner") is None


async def test_routes_answer_by_token_and_log_no_query_values() -> None:
    with structlog.testing.capture_logs() as logs:
        found = await call(api(), "GET", "/clients", params={"phone": "+79123456789"})
        plain = await call(api(), "GET", "/clients/c-1/owner", token="plain")
    assert found.json() == {"params": {}, "phone": "+79123456789", "pii": True}
    assert plain.json()["params"] == {"client_id": "c-1"} and plain.json()["pii"] is False
    assert [(e["route"], e["query_keys"], e["status"]) for e in logs if e["event"] == "api.call"] == [
        ("/clients", ["phone"], 200), ("/clients/{client_id}/owner", [], 200)]
    assert "79123456789" not in repr(logs)


async def test_errors_are_machine_readable() -> None:
    statuses = [(r.status_code, r.json()["error"]) for r in (
        await call(api(), "GET", "/clients/c-1/owner", token=None),
        await call(api(), "GET", "/clients/c-1/owner", token="wrong"),
        await call(api(), "GET", "/clients/missing/owner"),
        await call(api(), "POST", "/clients/c-1/owner"),
        await call(api(), "GET", "/clients/c-1/nothing"),
        await call(api(None), "GET", "/clients/c-1/owner"))]
    assert statuses == [(401, "unauthorized"), (401, "unauthorized"), (404, "client_not_found"),
                        (405, "method_not_allowed"), (404, "not_found"), (503, "api_token_not_configured")]


def test_openapi_documents_every_route_with_bearer_security() -> None:
    document = api().openapi()
    assert set(document["paths"]) == {"/clients", "/clients/{client_id}/owner"}
    owner = document["paths"]["/clients/{client_id}/owner"]["get"]
    assert owner["parameters"][0] == {"name": "client_id", "in": "path", "required": True,
                                      "schema": {"type": "string"}}
    assert "pii" in document["paths"]["/clients"]["get"]["description"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
