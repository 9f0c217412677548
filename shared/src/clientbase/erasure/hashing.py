"""Keyed hashes (HMAC-SHA256) that stand in for an erased identity claim or address."""

from __future__ import annotations

import hashlib
import hmac

from clientbase.kafka.reliability import PermanentError
from clientbase.settings import PrivacySettings

PREFIX = "erased:"


class HashKeyMissing(PermanentError):
    """Erasure without PRIVACY_HASH_KEY, which no retry fixes: the request is dead-lettered and replayed once set."""


class KeyedHasher:
    """Turns a value (an identity key, an address key) into a keyed hash that only the key holder can match."""

    def __init__(self, key: bytes | None) -> None:
        self._key = key

    @classmethod
    def from_settings(cls, settings: PrivacySettings) -> KeyedHasher:
        """The hasher of the configured PRIVACY_HASH_KEY (unset: hashing raises when first used)."""
        return cls(settings.hash_key.get_secret_value().encode() if settings.hash_key else None)

    @property
    def ready(self) -> bool:
        """Whether a key is configured (reads that match keyed hashes skip them while none is)."""
        return bool(self._key)

    def hash(self, value: str) -> str:
        """The keyed hash of a value, prefixed so it never collides with a plain key."""
        if not self._key:
            raise HashKeyMissing("PRIVACY_HASH_KEY is not set")
        return PREFIX + hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
