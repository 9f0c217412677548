"""Turns the raw bytes of an inbound message into its contract model, or a rejection with field details."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ValidationError

from clientbase.events.envelope import InboundEvent

from intake.domain import Reason, Rejected
from intake.normalize import repair_timestamp

M = TypeVar("M", bound=InboundEvent)
MAX_REASONS = 20


def readable_event_id(data: Any) -> str | None:
    """The payload's event id when it has a usable one."""
    value = data.get("event_id") if isinstance(data, dict) else None
    return value.strip() if isinstance(value, str) and 0 < len(value.strip()) <= 200 else None


def parse_inbound(raw: bytes, model: type[M], *, max_bytes: int) -> M:
    """Validate raw bytes against an inbound model; raise Rejected with machine-readable reasons otherwise."""
    if len(raw) > max_bytes:
        raise Rejected([Reason("payload_too_large", None, f"{len(raw)} bytes, at most {max_bytes} accepted")])
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise Rejected([Reason("invalid_json", None, type(error).__name__)]) from None
    if not isinstance(data, dict):
        raise Rejected([Reason("schema_violation", None, "payload is not a JSON object")])
    event_id = readable_event_id(data)
    version = data.get("schema_version", 1)
    if isinstance(version, int) and not isinstance(version, bool) and version not in model.SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in model.SCHEMA_VERSIONS)
        raise Rejected([Reason("unknown_schema_version", "schema_version", f"supported: {supported}")], event_id)
    if "occurred_at" in data:
        data["occurred_at"] = repair_timestamp(data["occurred_at"])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        reasons = [
            Reason("schema_violation", ".".join(str(part) for part in e["loc"]) or None, e["msg"])
            for e in error.errors(include_input=False, include_url=False)
        ]
        raise Rejected(reasons[:MAX_REASONS], event_id) from None
