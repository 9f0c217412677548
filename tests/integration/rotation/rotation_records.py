"""Kafka records of rotation's inbound events, for driving batch handlers without a broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord

from clientbase.events.inbound import ManagerChanged
from clientbase.events.outbound import ClientRegistered, LeadSource
from clientbase.topics import Topic

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def records(topic: Topic, events: list[Any]) -> list[ConsumerRecord[bytes, bytes]]:
    """One partition's records carrying these events (raw bytes are passed through), in order."""
    out = []
    for n, event in enumerate(events):
        body = event if isinstance(event, bytes) else event.model_dump_json().encode()
        headers = [] if isinstance(event, bytes) else [("event_id", event.event_id.encode())]
        out.append(ConsumerRecord(topic.name, 0, n, 0, 0, None, body, None, 0, len(body), headers))
    return out


def roster_events(count: int) -> list[ManagerChanged]:
    """Active managers of one grade with room for everyone."""
    return [ManagerChanged(event_id=str(uuid.uuid4()), occurred_at=AT - timedelta(days=30), manager_id=f"m-{n}",
                           name=f"m{n}", grade=1, status="active", capacity=100_000, regions=["RU"], languages=["ru"])
            for n in range(count)]


def registrations(count: int) -> list[ClientRegistered]:
    """New clients as intake publishes them."""
    return [ClientRegistered.create(source="intake", lead_source=LeadSource(channel="form"), correlation_id=f"l-{n}",
                                    occurred_at=AT - timedelta(minutes=n), client_id=f"c-{uuid.uuid4().hex[:12]}",
                                    lead_event_id=f"l-{n}", kind="person", country="RU", language="ru")
            for n in range(count)]
