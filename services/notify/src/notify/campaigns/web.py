"""Notify's campaign HTTP route: a dry run answers at once, a real run is queued on `campaigns.requested`."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError

from clientbase import topics
from clientbase.events.envelope import new_event_id, utc_now
from clientbase.events.inbound import CampaignRequested
from clientbase.http import read_body

from notify.campaigns.runner import CampaignRunner

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
MAX_BODY = 65536


async def _json(send: Send, status: int, payload: Any) -> None:
    """Send a JSON response."""
    data = json.dumps(payload, default=str, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def campaign_of(body: bytes) -> CampaignRequested:
    """A campaign request from a JSON body; `event_id` and `occurred_at` are filled in when absent."""
    payload = json.loads(body or b"{}")
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    return CampaignRequested.model_validate({"event_id": new_event_id(), "occurred_at": utc_now(), **payload})


class CampaignEndpoint:
    """POST /campaigns runs a dry run (200 with the counts) or queues a real run (202); GET ?id= shows progress."""

    def __init__(self, runner: Callable[[], CampaignRunner], publish: Callable[[CampaignRequested], Awaitable[None]],
                 token: bytes | None) -> None:
        self.runner, self.publish, self.token = runner, publish, token

    def authorized(self, scope: Scope) -> bool:
        """Whether the request carries the configured bearer token."""
        headers = dict(scope.get("headers") or [])
        return self.token is not None and hmac.compare_digest(headers.get(b"authorization", b""),
                                                              b"Bearer " + self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if self.token is None:
            return await _json(send, 503, {"error": "campaign_token_not_configured"})
        if not self.authorized(scope):
            return await _json(send, 401, {"error": "missing_or_wrong_bearer_token"})
        if scope.get("method") == "GET":
            campaign_id = (parse_qs(scope.get("query_string", b"").decode()).get("id") or [""])[0]
            progress = await self.runner().progress(campaign_id)
            return await _json(send, 200 if progress else 404, progress or {"error": "unknown_campaign"})
        if scope.get("method") != "POST":
            return await _json(send, 405, {"error": "method_not_allowed"})
        try:
            campaign = campaign_of(await read_body(receive, MAX_BODY))
        except ValidationError as error:
            return await _json(send, 422, {"error": "invalid_campaign", "detail": [
                {"loc": list(e["loc"]), "type": e["type"]} for e in error.errors(include_input=False)]})
        except ValueError as error:
            return await _json(send, 422, {"error": "invalid_campaign", "detail": str(error)})
        if campaign.dry_run:
            return await _json(send, 200, {"campaign_id": campaign.campaign_id, "dry_run": True,
                                           **await self.runner().dry_run(campaign)})
        await self.publish(campaign)
        return await _json(send, 202, {"campaign_id": campaign.campaign_id, "event_id": campaign.event_id,
                                       "topic": topics.CAMPAIGNS_REQUESTED.name})


async def publish_campaign(broker: Any, prefix: str, campaign: CampaignRequested) -> None:
    """Put a campaign request on `campaigns.requested`, keyed by its campaign id, and wait for the ack."""
    name = prefix + topics.CAMPAIGNS_REQUESTED.name
    await broker.publish(campaign.model_dump_json().encode(), name, key=campaign.campaign_id.encode(),
                         headers={"event_id": campaign.event_id, "content-type": "application/json"})
