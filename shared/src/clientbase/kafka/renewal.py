"""Replaces the broker's idempotent producer when the broker refuses its sequence state, then retries the publish.

An idempotent producer numbers its batches per partition. After a broker crash the broker may expect a sequence
the producer has already passed (`OutOfOrderSequenceNumber`) or no longer know the producer id; aiokafka treats
that as final and every later batch to the partition fails the same way. A new producer (a new id, sequences from
zero) is the remedy; a publish retried on it may write an event twice, which consumers drop by `event_id`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidProducerEpoch, OutOfOrderSequenceNumber, ProducerFenced, UnknownProducerId
from faststream.kafka import KafkaBroker

log = structlog.get_logger(__name__)

REFUSED_PRODUCER_STATE = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, ProducerFenced)
STOP_TIMEOUT_S = 30.0

T = TypeVar("T")


class RenewingProducer:
    """Publishes through the broker; a refused producer state renews the producer once and retries the call."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker
        self._lock = asyncio.Lock()
        self.renewals = 0

    async def publish(self, message: bytes, topic: str = "", **kwargs: Any) -> Any:
        """`KafkaBroker.publish` with the renewal (for confirmed publishes: a future's error comes too late)."""
        return await self.retrying(lambda: self._broker.publish(message, topic, **kwargs))

    async def retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call`; when the broker refuses the producer's state, renew the producer and run it once more."""
        seen = self.renewals
        try:
            return await call()
        except REFUSED_PRODUCER_STATE as error:
            await self.renew(seen, error)
        return await call()

    async def renew(self, seen: int, error: BaseException) -> None:
        """Swap in a new producer, unless another call already did since the failure was seen."""
        async with self._lock:
            if self.renewals != seen:
                return
            producer = self._broker.config.broker_config.producer
            try:
                await asyncio.wait_for(producer.disconnect(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("kafka.producer_stop_timed_out")
            fresh = AIOKafkaProducer(**self._broker._connection_kwargs)  # noqa: SLF001 - the broker's own options
            await producer.connect(fresh, serializer=producer.serializer, codec=producer.codec)
            self.renewals += 1
            log.warning("kafka.producer_renewed", error=type(error).__name__, renewals=self.renewals)
