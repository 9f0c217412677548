"""Publishes contract events as JSON with their envelope ids in Kafka headers."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from clientbase.events.envelope import Envelope
from clientbase.kafka.renewal import RenewingProducer
from clientbase.topics import Topic


class _Publisher(Protocol):
    async def publish(self, message: bytes, topic: str = "", **kwargs: object) -> object:
        """Send one message."""


def event_headers(event: Envelope) -> dict[str, str]:
    """Kafka headers that let consumers dedupe and trace without parsing the body."""
    headers = {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "schema_version": str(event.schema_version),
        "correlation_id": event.correlation_id,
        "content-type": "application/json",
    }
    if event.causation_id:
        headers["causation_id"] = event.causation_id
    return headers


class EventPublisher:
    """Sends contract events to their registered topics, keyed so one client's events stay ordered."""

    def __init__(self, broker: _Publisher, declared: Mapping[str, _Publisher] | None = None,
                 renewal: RenewingProducer | None = None) -> None:
        self._broker = broker
        self._declared = dict(declared or {})
        self._renewal = renewal

    async def _send(self, topic: Topic, event: Envelope, key: str, *, confirm: bool) -> Any:
        """Hand one event to the producer; with `confirm` wait for the broker's ack, else return its future."""
        return await self._declared.get(topic.name, self._broker).publish(
            event.model_dump_json().encode(),
            topic.name,
            key=key.encode(),
            headers=event_headers(event),
            correlation_id=event.correlation_id,
            no_confirm=not confirm,
        )

    async def publish(self, topic: Topic, event: Envelope, *, key: str) -> None:
        """Publish one event through the topic's declared publisher (or the broker) and wait for the ack."""
        await self.publish_all([(topic, event, key)])

    async def publish_all(self, items: Iterable[tuple[Topic, Envelope, str]]) -> None:
        """Publish several events: appended in order (so one key's events stay ordered), acks awaited together.

        When the broker refuses the producer's state, the producer is renewed and the whole list sent again.
        """
        items = list(items)
        if self._renewal is None:
            await self._send_all(items)
        else:
            await self._renewal.retrying(lambda: self._send_all(items))

    async def _send_all(self, items: list[tuple[Topic, Envelope, str]]) -> None:
        """Append every event, then wait for all the acks."""
        sent = [await self._send(topic, event, key, confirm=False) for topic, event, key in items]
        futures = [f for f in sent if inspect.isawaitable(f)]  # an in-memory test broker confirms at once
        if futures:
            await asyncio.gather(*futures)


class PrefixedPublisher:
    """Publishes to the registry's topics under a name prefix (empty in production; isolated tests set one)."""

    def __init__(self, inner: EventPublisher, prefix: str) -> None:
        self._inner, self._prefix = inner, prefix

    def _named(self, topic: Topic) -> Topic:
        """The topic as this service's deployment names it."""
        return dataclasses.replace(topic, name=self._prefix + topic.name) if self._prefix else topic

    async def publish(self, topic: Topic, event: Envelope, *, key: str) -> None:
        """Publish one event and wait for the ack."""
        await self._inner.publish(self._named(topic), event, key=key)

    async def publish_all(self, items: Iterable[tuple[Topic, Envelope, str]]) -> None:
        """Publish several events in order, acks awaited together."""
        await self._inner.publish_all([(self._named(topic), event, key) for topic, event, key in items])
