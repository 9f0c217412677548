"""The consumer reliability kit: idempotency by event id, retry with backoff, then dead-letter."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError, KafkaTimeoutError
from faststream.exceptions import NackMessage
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.events.personal import UnknownSchemaVersion
from clientbase.kafka.dead_letter import DeadLetterer
from clientbase.kafka.stores import ATTEMPTS_COLLECTION, PROCESSED_COLLECTION, DeliveryAttempts, ProcessedEvents
from clientbase.masking import mask_text
from clientbase.mongo_reads import KeyedReads
from clientbase.settings import ReliabilitySettings

log = structlog.get_logger(__name__)


class PermanentError(Exception):
    """A failure no retry can fix: the message goes to the dead-letter topic at once."""


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PermanentError, ValidationError, json.JSONDecodeError, UnicodeDecodeError, UnknownSchemaVersion,
)


def is_outage(error: BaseException) -> bool:
    """Whether the error says the database or the broker is out of reach, which says nothing about the message."""
    if isinstance(error, ConnectionFailure | KafkaTimeoutError):
        return True
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))


def header_value(record: ConsumerRecord[Any, Any], name: str) -> str | None:
    """One header of a Kafka record as text, or None."""
    for key, value in record.headers or ():
        if key == name and value is not None:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


def envelope_ids(record: ConsumerRecord[Any, Any]) -> tuple[str | None, str | None]:
    """The record's event_id and correlation_id: from our publisher's headers, else from the JSON body."""
    event_id = header_value(record, "event_id")
    if event_id is not None:
        return event_id, header_value(record, "correlation_id") or event_id
    try:
        body = json.loads(record.value)
    except (TypeError, ValueError):
        return None, None
    if not isinstance(body, dict) or not body.get("event_id"):
        return None, None
    event_id = str(body["event_id"])
    return event_id, str(body.get("correlation_id") or event_id)


def describe_error(error: BaseException) -> str:
    """A short error description with no personal data in it."""
    if isinstance(error, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}" for e in error.errors(include_input=False)]
        return f"ValidationError: {'; '.join(parts)}"[:1000]
    return mask_text(f"{type(error).__name__}: {error}")[:1000]


@dataclass(frozen=True)
class Delivery:
    """One Kafka record of a batch, with the envelope ids read from its headers or body."""

    record: ConsumerRecord[Any, Any]
    event_id: str | None
    correlation_id: str | None
    redelivered: bool = False

    @classmethod
    def of(cls, record: ConsumerRecord[Any, Any]) -> Delivery:
        """Wrap a record, reading its envelope ids."""
        event_id, correlation_id = envelope_ids(record)
        return cls(record, event_id, correlation_id)

    @property
    def body(self) -> bytes:
        """The record's raw value."""
        return bytes(self.record.value or b"")

    @property
    def topic(self) -> str:
        """The topic the record came from."""
        return str(self.record.topic)


BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]


class ConsumerReliability:
    """Runs a service's batch handlers reliably: skip handled events, split a failing batch, dead-letter poison alone.

    The effect of a batch is durable before its offsets are committed: the handler's writes and publishes
    finish, the events are marked handled, and only then does FastStream commit (ack after the effect).
    A batch that raises is replayed one record at a time, so a poison record fails alone: it is retried with
    backoff (the batch is redelivered from its first record, and the records already handled are skipped by
    their marks), then sent to `<topic>.dlq` after `max_attempts`, or at once for a permanent error.
    An outage of the database or the broker is no fault of the message: the batch is redelivered after a
    backoff without counting an attempt, so good messages wait for the outage to end instead of reaching the DLQ.
    """

    def __init__(self, group_id: str, settings: ReliabilitySettings | None = None) -> None:
        self.group_id = group_id
        self.settings = settings or ReliabilitySettings()
        self.processed: ProcessedEvents | None = None
        self.attempts: DeliveryAttempts | None = None
        self.dead_letterer: DeadLetterer | None = None
        self._outages = 0

    def attach(self, db: AsyncDatabase[dict[str, Any]], dead_letterer: DeadLetterer,
               reads: KeyedReads | None = None) -> None:
        """Give the kit its stores and dead-letter publisher once the service has connected."""
        self.processed = ProcessedEvents(db[PROCESSED_COLLECTION], reads)
        self.attempts = DeliveryAttempts(db[ATTEMPTS_COLLECTION])
        self.dead_letterer = dead_letterer

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before redelivery number `attempt`, doubling up to the cap."""
        return min(self.settings.backoff_initial_s * 2 ** (attempt - 1), self.settings.backoff_max_s)

    def processed_key(self, delivery: Delivery) -> str | None:
        """Identity of the event for this consumer group, for idempotency."""
        return f"{self.group_id}:{delivery.topic}:{delivery.event_id}" if delivery.event_id else None

    def record_key(self, delivery: Delivery) -> str:
        """Identity of the Kafka record for attempt counting."""
        r = delivery.record
        return f"{self.group_id}:{r.topic}:{r.partition}:{r.offset}"

    async def run(self, records: Sequence[ConsumerRecord[Any, Any]], handler: BatchHandler) -> None:
        """Handle one polled batch; return normally when its offsets may be committed, raise NackMessage to redeliver."""
        if not records:
            return
        if self.processed is None:
            raise RuntimeError("the reliability kit is not attached to a database yet")
        try:
            await self._run(records, handler)
        except Exception as error:
            if not is_outage(error):
                raise
            await self._wait_out(error, records[0])
        self._outages = 0

    async def _wait_out(self, error: BaseException, first: ConsumerRecord[Any, Any]) -> None:
        """Back off for an outage and redeliver the batch; the outage counts no attempt against any message."""
        self._outages += 1
        delay = self.backoff(self._outages)
        log.warning("consumer.outage", error=describe_error(error), topic=first.topic, delay_s=delay,
                    in_a_row=self._outages)
        await asyncio.sleep(delay)
        raise NackMessage from None

    async def _run(self, records: Sequence[ConsumerRecord[Any, Any]], handler: BatchHandler) -> None:
        """Handle a batch; an outage raised anywhere in it propagates to `run`."""
        assert self.processed is not None
        if self.settings.fault_handler_delay_ms:  # a test hook: a slow handler without a slow database
            await asyncio.sleep(self.settings.fault_handler_delay_ms / 1000)
        batch = uuid.uuid4().hex
        deliveries = [Delivery.of(r) for r in records]
        keyed = {id(d): self.processed_key(d) for d in deliveries}
        done, interrupted = await self.processed.claim([k for k in keyed.values() if k], batch)
        fresh, taken = [], set(done)
        for delivery in deliveries:
            key = keyed[id(delivery)]
            if key is None or key not in taken:  # a duplicate inside the batch is skipped like a redelivery
                fresh.append(replace(delivery, redelivered=key in interrupted))
                taken.add(key)
        if len(fresh) < len(deliveries):
            log.info("consumer.duplicates_skipped", count=len(deliveries) - len(fresh), topic=records[0].topic)
        if not fresh:
            return
        if any(d.redelivered for d in fresh):  # this batch failed before: straight to its halves
            await self._replay(fresh, handler, failed=True)
            return
        try:
            await handler(fresh)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - any failure but an outage splits the batch
            if is_outage(error):
                raise
            log.warning("consumer.batch_failed", size=len(fresh), error=describe_error(error))
            await self._replay([replace(d, redelivered=True) for d in fresh], handler, failed=True)
            return
        await self.processed.finish(batch, len(fresh))

    async def _replay(self, deliveries: Sequence[Delivery], handler: BatchHandler, *, failed: bool) -> None:
        """Replay a failed batch by halves, in order, down to the failing records, which are retried or dead-lettered
        alone; one poison record in n costs about 2·log2(n) handler calls instead of n."""
        assert self.processed is not None
        if len(deliveries) == 1:
            await self._alone(deliveries[0], handler)
            return
        if not failed:
            try:
                await handler(deliveries)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure but an outage splits the part again
                if is_outage(error):
                    raise
            else:
                await self.processed.finish_each([k for k in map(self.processed_key, deliveries) if k])
                return
        middle = len(deliveries) // 2
        await self._replay(deliveries[:middle], handler, failed=False)
        await self._replay(deliveries[middle:], handler, failed=False)

    async def _alone(self, delivery: Delivery, handler: BatchHandler) -> None:
        """Handle one record of a failed batch; its failure is counted, retried or dead-lettered."""
        assert self.processed is not None
        key = self.processed_key(delivery)
        structlog.contextvars.bind_contextvars(event_id=delivery.event_id, correlation_id=delivery.correlation_id)
        try:
            await handler([delivery])
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - decided below: retry or dead-letter
            if is_outage(error):
                raise
            await self._handle_failure(delivery, error)
            return
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")
        if key:
            await self.processed.finish_alone(key)

    async def _handle_failure(self, delivery: Delivery, error: Exception) -> None:
        """Count the failure; raise NackMessage to redeliver, or dead-letter the record and go on."""
        assert self.attempts is not None and self.dead_letterer is not None
        record_key = self.record_key(delivery)
        description = describe_error(error)
        attempts = await self.attempts.record_failure(record_key, description)
        permanent = isinstance(error, PERMANENT_ERRORS)
        bound = log.bind(event_id=delivery.event_id, topic=delivery.topic, partition=delivery.record.partition,
                         offset=delivery.record.offset)
        if not permanent and attempts < self.settings.max_attempts:
            delay = self.backoff(attempts)
            bound.warning("consumer.retry_scheduled", attempts=attempts, delay_s=delay, error=description)
            await asyncio.sleep(delay)
            raise NackMessage from None
        await self.dead_letterer.send(delivery.record, error=description, error_type=type(error).__name__,
                                      attempts=attempts, group_id=self.group_id)
        await self.attempts.clear(record_key)
        bound.error("consumer.dead_lettered", attempts=attempts, error=description, permanent=permanent)
