"""Schema version 2 of events that carry personal data: the personal fields travel sealed under the client's key.

Which fields are personal is declared once, in `PERSONAL_FIELDS` of the clear model; the sealed (wire) model is
derived from it, so declaring one more field is one line. `seal_event` turns a clear event into its sealed
version, `open_event` (the upcaster) turns a version 1 or 2 payload into the clear model. When the key is gone
(the client was erased) the personal fields read as the explicit erased marker, never as an error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from clientbase.crypto.sealing import ALGORITHM, seal, unseal
from clientbase.events.envelope import Envelope

ERASED = "[erased]"
SEALED_VERSION = 2

Clear = TypeVar("Clear", bound=Envelope)


class SealedFields(BaseModel):
    """Personal fields of one event, encrypted under the data key of the client they are about."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alg: Literal["AES-256-GCM"] = Field(ALGORITHM, description="Authenticated encryption used.")
    key_id: str = Field(description="Id of the data key in the key vault: the client id.", examples=["cl-5f0c3b9e"])
    fields: list[str] = Field(description="Names of the sealed fields.", examples=[["name", "phones", "emails"]])
    ciphertext: str = Field(description="Base64 of the 12-byte nonce followed by the AES-GCM ciphertext of the "
                            "fields as a JSON object; the key id is the associated data.")


class SealedEvent(Envelope):
    """Base of a schema version 2 event: personal fields are in `personal`, never in clear."""

    SCHEMA_VERSION: ClassVar[int] = SEALED_VERSION
    CLEAR: ClassVar[type[Envelope]]
    KEY_FIELD: ClassVar[str] = "client_id"

    schema_version: int = Field(SEALED_VERSION, description="Version of this payload's schema.")
    personal: SealedFields | None = Field(
        None, description="The sealed personal fields; null when the client had been erased before publishing.")


def sealed_base(clear: type[Envelope], key_field: str = "client_id") -> type[SealedEvent]:
    """A sealed base model with the clear model's fields except its declared personal ones."""
    personal = set(personal_fields(clear))
    kept = {name: (info.annotation, info) for name, info in clear.model_fields.items()
            if name not in personal and name not in Envelope.model_fields}
    model = create_model(f"Sealed{clear.__name__}", __base__=SealedEvent, __doc__=clear.__doc__, **kept)  # type: ignore[call-overload]
    model.CLEAR = clear
    model.KEY_FIELD = key_field
    return model


def personal_fields(clear: type[BaseModel]) -> tuple[str, ...]:
    """The fields a clear model declares personal."""
    return tuple(getattr(clear, "PERSONAL_FIELDS", ()))


@cache
def erased_values(clear: type[BaseModel]) -> dict[str, Any]:
    """What each personal field reads as once its key is gone: empty lists, the marker text, or null."""
    values: dict[str, Any] = {}
    for name in personal_fields(clear):
        info = clear.model_fields[name]
        if info.default_factory is list:
            values[name] = []
            continue
        try:
            TypeAdapter(info.annotation).validate_python(ERASED)
            values[name] = ERASED
        except ValidationError:
            values[name] = None
    return values


def seal_event(event: Envelope, sealed: type[SealedEvent], key: bytes | None) -> SealedEvent:
    """The version 2 form of a clear event, its personal fields sealed under `key` (None: erased already)."""
    names = personal_fields(type(event))
    payload = event.model_dump(mode="json", exclude={"schema_version", *names})
    key_id = str(payload[sealed.KEY_FIELD])
    box = None
    if key is not None:
        plain = json.dumps(event.model_dump(mode="json", include=set(names)), ensure_ascii=False).encode()
        box = SealedFields(key_id=key_id, fields=list(names),
                           ciphertext=base64.b64encode(seal(key, plain, key_id.encode())).decode())
    return sealed.model_validate({**payload, "schema_version": SEALED_VERSION, "personal": box})


def key_id_of(data: Any) -> str | None:
    """The data key a raw payload needs, or None for a version 1 (clear) payload."""
    if not isinstance(data, dict) or data.get("schema_version") != SEALED_VERSION:
        return None
    personal = data.get("personal")
    return str(personal["key_id"]) if isinstance(personal, dict) and "key_id" in personal else None


class UnknownSchemaVersion(ValueError):
    """A payload of a schema version this code does not know; no retry can read it."""


def open_event(clear: type[Clear], data: Any, keys: Mapping[str, bytes | None]) -> Clear:
    """Upcast a version 1 or 2 payload to the clear model; fields whose key is gone read as erased."""
    version = data.get("schema_version", 1) if isinstance(data, dict) else 1
    if version == 1:
        return clear.model_validate(data)
    if version != SEALED_VERSION:
        raise UnknownSchemaVersion(f"unknown schema_version {version!r} of {clear.__name__}")
    body = {k: v for k, v in data.items() if k != "personal"}
    box = SealedFields.model_validate(data["personal"]) if data.get("personal") is not None else None
    fields = dict(erased_values(clear))
    key = keys.get(box.key_id) if box else None
    if box is not None and key is not None:
        plain = unseal(key, base64.b64decode(box.ciphertext), box.key_id.encode())
        if plain is not None:
            fields.update({k: v for k, v in json.loads(plain).items() if k in fields})
    return clear.model_validate({**body, **fields})
