"""Who a campaign addresses and with which template: the audience query, the group and the send time (no I/O)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from clientbase.events.envelope import derived_event_id
from clientbase.events.inbound import Audience, CampaignRequested
from clientbase.events.outbound import ClientSegmented

from notify.domain import Request

Doc = dict[str, Any]


def segment_fields(event: ClientSegmented) -> Doc:
    """What notify keeps of a client's segment on its client document (activity `none` for never bought)."""
    segment = event.segment
    return {"_id": event.client_id, "segment": {
        "temperature": segment.temperature, "vip": segment.vip, "activity": segment.activity or "none",
        "kind": segment.kind}, "segment_as_of": event.as_of,
        "source_channel": event.lead_source.channel if event.lead_source else None}


def audience_query(audience: Audience) -> Doc:
    """The MongoDB filter of a campaign's audience over notify's client documents (simple equality and `$in`)."""
    query: Doc = {"snapshot": True, "merged_into": {"$exists": False}, "segment": {"$exists": True}}
    for name in ("temperature", "activity", "kind"):
        values = getattr(audience, name)
        if values is not None:
            query[f"segment.{name}"] = {"$in": list(values)}
    if audience.vip is not None:
        query["segment.vip"] = audience.vip
    for name, field in (("region", "region"), ("language", "language"), ("source", "source_channel")):
        values = getattr(audience, name)
        if values is not None:
            query[field] = {"$in": list(values)}
    return query


def group_of(doc: Doc) -> str:
    """The campaign group of a client: potential (never bought) or current, person or company."""
    segment = doc["segment"]
    return f"{'potential' if segment['activity'] == 'none' else 'current'}_{segment['kind']}"


def send_at(campaign: CampaignRequested, client_id: str) -> datetime | None:
    """When the client's message may go: the schedule's start, or a fixed point of the window picked by the client id."""
    start, until = campaign.schedule.at, campaign.schedule.until
    if start is None or until is None or until <= start:
        return start
    share = int(hashlib.sha256(f"{campaign.campaign_id}|{client_id}".encode()).hexdigest()[:8], 16) / 0x100000000
    return start + (until - start) * share


def request_id_of(campaign_id: str, client_id: str) -> str:
    """The request id of a campaign's message to a client: one per (campaign, client), whatever the reruns."""
    return derived_event_id("notify.campaign", campaign_id, client_id)


def requests_of(campaign: CampaignRequested, docs: list[Doc], now: datetime) -> list[tuple[str, Request]]:
    """The per-client requests of a page of the audience, with their groups; groups without a template are left out."""
    out = []
    for doc in docs:
        group = group_of(doc)
        template = campaign.templates.get(group)  # type: ignore[call-overload]
        if template is None:
            continue
        out.append((group, Request(
            request_id=request_id_of(campaign.campaign_id, doc["_id"]), correlation_id=campaign.event_id,
            channel=campaign.channel, category=campaign.category, template=template,
            params={**campaign.params, "campaign_id": campaign.campaign_id}, client_id=doc["_id"],
            not_before=send_at(campaign, doc["_id"]), first_seen=now)))
    return out
