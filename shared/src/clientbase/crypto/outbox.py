"""Seals the personal fields of outgoing events under their clients' data keys, one key lookup per batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from clientbase.crypto.vault import KeyVault
from clientbase.events.contract import MODEL_BY_TOPIC
from clientbase.events.envelope import Envelope
from clientbase.events.personal import SealedEvent, seal_event
from clientbase.topics import Topic

SEALED_VERSION_OF: dict[type[Envelope], type[SealedEvent]] = {
    model.CLEAR: model for model in MODEL_BY_TOPIC.values() if isinstance(model, type) and issubclass(model, SealedEvent)
}

Item = tuple[Topic, Envelope, str]


async def seal_outgoing(items: Sequence[Item], vault: KeyVault) -> list[Item]:
    """The items with every event that carries personal fields replaced by its sealed version."""
    personal = [(i, SEALED_VERSION_OF[type(e)]) for i, (_, e, _) in enumerate(items) if type(e) in SEALED_VERSION_OF]
    if not personal:
        return list(items)
    owner = {i: str(getattr(items[i][1], model.KEY_FIELD)) for i, model in personal}
    keys = await vault.issue(set(owner.values()))
    out = list(items)
    for i, model in personal:
        topic, event, key = out[i]
        out[i] = (topic, seal_event(event, model, keys[owner[i]]), key)
    return out


class Publisher(Protocol):
    """What a sealing publisher wraps: the runtime's EventPublisher or a prefixed one."""

    async def publish_all(self, items: Iterable[Item]) -> None:
        """Publish several events in order and wait for every ack."""


class SealingPublisher:
    """A publisher that seals personal fields before handing events on; the rest of the service sees clear events."""

    def __init__(self, inner: Publisher, vault: KeyVault) -> None:
        self._inner, self._vault = inner, vault

    async def publish(self, topic: Topic, event: Envelope, *, key: str) -> None:
        """Seal (when it carries personal fields) and publish one event."""
        await self.publish_all([(topic, event, key)])

    async def publish_all(self, items: Iterable[Item]) -> None:
        """Seal the batch's personal fields with one key lookup, then publish in order."""
        await self._inner.publish_all(await seal_outgoing(list(items), self._vault))
