"""The consumer reliability kit: idempotency by event id, retry with backoff, then dead-letter."""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any

import structlog
from aiokafka import ConsumerRecord
from faststream import BaseMiddleware
from faststream.exceptions import HandlerException, NackMessage
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.kafka.dead_letter import DeadLetterer
from clientbase.kafka.stores import ATTEMPTS_COLLECTION, PROCESSED_COLLECTION, DeliveryAttempts, ProcessedEvents
from clientbase.masking import mask_text
from clientbase.settings import ReliabilitySettings

log = structlog.get_logger(__name__)


class PermanentError(Exception):
    """A failure no retry can fix: the message goes to the dead-letter topic at once."""


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PermanentError, ValidationError, json.JSONDecodeError, UnicodeDecodeError,
)


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


class ConsumerReliability:
    """Broker middleware factory that makes every subscriber of a service reliable."""

    def __init__(self, group_id: str, settings: ReliabilitySettings | None = None) -> None:
        self.group_id = group_id
        self.settings = settings or ReliabilitySettings()
        self.processed: ProcessedEvents | None = None
        self.attempts: DeliveryAttempts | None = None
        self.dead_letterer: DeadLetterer | None = None

    def attach(self, db: AsyncDatabase[dict[str, Any]], dead_letterer: DeadLetterer) -> None:
        """Give the kit its stores and dead-letter publisher once the service has connected."""
        self.processed = ProcessedEvents(db[PROCESSED_COLLECTION])
        self.attempts = DeliveryAttempts(db[ATTEMPTS_COLLECTION])
        self.dead_letterer = dead_letterer

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before redelivery number `attempt`, doubling up to the cap."""
        return min(self.settings.backoff_initial_s * 2 ** (attempt - 1), self.settings.backoff_max_s)

    def __call__(self, msg: Any, /, *, context: Any) -> _ReliabilityMiddleware:
        """Make the per-message middleware FastStream enters around each delivery."""
        return _ReliabilityMiddleware(msg, context=context, kit=self)


class _ReliabilityMiddleware(BaseMiddleware):
    """Per-message scope: binds log context, skips duplicates, and decides retry or dead-letter on failure."""

    def __init__(self, msg: Any, /, *, context: Any, kit: ConsumerReliability) -> None:
        super().__init__(msg, context=context)
        self.kit = kit
        self.record: ConsumerRecord[Any, Any] | None = msg if isinstance(msg, ConsumerRecord) else None
        self.event_id: str | None = None
        self.log = log

    @property
    def record_key(self) -> str:
        """Identity of the Kafka record for attempt counting."""
        r = self.record
        return f"{self.kit.group_id}:{r.topic}:{r.partition}:{r.offset}" if r else "unknown"

    @property
    def processed_key(self) -> str | None:
        """Identity of the event for this consumer group, for idempotency."""
        if self.record is None or self.event_id is None:
            return None
        return f"{self.kit.group_id}:{self.record.topic}:{self.event_id}"

    async def on_receive(self) -> None:
        """Read the envelope ids and bind them to every log line of this message."""
        if self.record is None:
            return
        self.event_id, correlation_id = envelope_ids(self.record)
        self.log = log.bind(
            event_id=self.event_id, correlation_id=correlation_id, topic=self.record.topic,
            partition=self.record.partition, offset=self.record.offset,
        )
        structlog.contextvars.bind_contextvars(event_id=self.event_id, correlation_id=correlation_id)

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        """Run the handler unless this event was already handled, then remember it."""
        key = self.processed_key
        if key and self.kit.processed and await self.kit.processed.seen(key):
            self.log.info("consumer.duplicate_skipped")
            return None
        result = await call_next(msg)
        if key and self.kit.processed:
            await self.kit.processed.mark(key)
        return result

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        """On failure, schedule a redelivery with backoff or dead-letter after the last attempt."""
        try:
            if exc_val is None or isinstance(exc_val, HandlerException | asyncio.CancelledError):
                return False
            if not isinstance(exc_val, Exception) or self.record is None or self.kit.attempts is None:
                return False
            return await self._handle_failure(exc_val)
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")

    async def _handle_failure(self, error: Exception) -> bool:
        """Count the failure; raise NackMessage to redeliver, or dead-letter and return True to ack."""
        assert self.record is not None and self.kit.attempts is not None and self.kit.dead_letterer is not None
        description = describe_error(error)
        attempts = await self.kit.attempts.record_failure(self.record_key, description)
        permanent = isinstance(error, PERMANENT_ERRORS)
        if not permanent and attempts < self.kit.settings.max_attempts:
            delay = self.kit.backoff(attempts)
            self.log.warning("consumer.retry_scheduled", attempts=attempts, delay_s=delay, error=description)
            await asyncio.sleep(delay)
            raise NackMessage from None
        await self.kit.dead_letterer.send(self.record, error=description, error_type=type(error).__name__,
                                          attempts=attempts, group_id=self.kit.group_id)
        await self.kit.attempts.clear(self.record_key)
        self.log.error("consumer.dead_lettered", attempts=attempts, error=description, permanent=permanent)
        return True
