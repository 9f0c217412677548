"""Publishes a message that keeps failing to `<topic>.dlq` with its original bytes and the reason."""

from __future__ import annotations

from typing import Any, Protocol

from aiokafka import ConsumerRecord

from clientbase.events.envelope import utc_now
from clientbase.topics import DLQ_SUFFIX

DLQ_HEADER_PREFIX = "x-dlq-"


class _Publisher(Protocol):
    async def publish(self, message: bytes, topic: str = "", **kwargs: Any) -> object:
        """Send one message."""


def dead_letter_headers(
    record: ConsumerRecord[Any, Any], *, error: str, error_type: str, attempts: int, group_id: str
) -> dict[str, str]:
    """The original headers plus the error, attempt count and origin of the record."""
    headers = {
        key: value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        for key, value in (record.headers or ())
        if not key.startswith(DLQ_HEADER_PREFIX)
    }
    headers.update({
        f"{DLQ_HEADER_PREFIX}error": error,
        f"{DLQ_HEADER_PREFIX}error-type": error_type,
        f"{DLQ_HEADER_PREFIX}attempts": str(attempts),
        f"{DLQ_HEADER_PREFIX}origin-topic": record.topic,
        f"{DLQ_HEADER_PREFIX}origin-partition": str(record.partition),
        f"{DLQ_HEADER_PREFIX}origin-offset": str(record.offset),
        f"{DLQ_HEADER_PREFIX}consumer-group": group_id,
        f"{DLQ_HEADER_PREFIX}failed-at": utc_now().isoformat(),
    })
    return headers


class DeadLetterer:
    """Sends failed records to the dead-letter topic of their origin topic."""

    def __init__(self, broker: _Publisher) -> None:
        self._broker = broker

    async def send(
        self, record: ConsumerRecord[Any, Any], *, error: str, error_type: str, attempts: int, group_id: str
    ) -> None:
        """Publish the record's original key and bytes to `<topic>.dlq` and wait for the broker."""
        await self._broker.publish(
            record.value if record.value is not None else b"",
            record.topic + DLQ_SUFFIX,
            key=record.key,
            headers=dead_letter_headers(record, error=error, error_type=error_type, attempts=attempts,
                                        group_id=group_id),
        )
