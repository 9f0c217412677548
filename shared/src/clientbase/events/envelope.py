"""The envelope every event carries, and how event ids are made."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

EVENT_ID_NAMESPACE = uuid.UUID("3f7b0a52-5c7e-4d8e-9f55-0b8e1d6c2a41")


def new_event_id() -> str:
    """A fresh random event id for an event that is not derived from another one."""
    return str(uuid.uuid4())


def derived_event_id(*parts: object) -> str:
    """A deterministic event id, so that redelivering the input republishes the same id."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, "\x1f".join(str(part) for part in parts)))


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class InboundEvent(BaseModel):
    """An event published by an outside system: only `event_id` and `occurred_at` are required."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    EVENT_TYPE: ClassVar[str] = ""
    SCHEMA_VERSIONS: ClassVar[tuple[int, ...]] = (1,)

    event_id: str = Field(
        min_length=1, max_length=200,
        description="Producer-unique id; a duplicate delivery of the same id is harmless.",
        examples=["f9e8d2a7-0f21-51ee-a1d3-74227c62e57f"],
    )
    occurred_at: AwareDatetime = Field(
        description="When it happened, ISO 8601 with offset.", examples=["2026-11-20T10:00:00+03:00"],
    )
    schema_version: int = Field(1, description="Version of this payload's schema.")
    correlation_id: str | None = Field(None, description="Id of the event that started the chain, if any.")
    source: str | None = Field(None, description="Name of the producing system.")


class Envelope(BaseModel):
    """The envelope of every event this system publishes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    EVENT_TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    event_id: str = Field(description="Unique id; deterministic when derived from another event.")
    event_type: str = Field(description="Name of the event in past tense, e.g. ClientRegistered.")
    schema_version: int = Field(1, description="Version of this payload's schema.")
    occurred_at: AwareDatetime = Field(description="When it happened, ISO 8601 with offset.")
    correlation_id: str = Field(description="The event_id of the inbound event that started the chain.")
    causation_id: str | None = Field(None, description="The event_id of the event that directly caused this one.")
    source: str = Field(description="The service that published it.", examples=["intake"])

    @classmethod
    def create(
        cls,
        *,
        source: str,
        correlation_id: str,
        causation_id: str | None = None,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
        **payload: Any,
    ) -> Self:
        """Build an event of this type with its envelope filled in."""
        return cls(
            event_id=event_id or new_event_id(),
            event_type=cls.EVENT_TYPE,
            schema_version=cls.SCHEMA_VERSION,
            occurred_at=occurred_at or utc_now(),
            correlation_id=correlation_id,
            causation_id=causation_id,
            source=source,
            **payload,
        )
