"""The key vault of a running service: its collection on the service's MongoDB connection, its cache per process."""

from __future__ import annotations

from clientbase.crypto.vault import DATA_KEYS, KeyVault
from clientbase.runtime import ServiceRuntime
from clientbase.settings import KeyVaultSettings


def runtime_vault(runtime: ServiceRuntime, settings: KeyVaultSettings) -> KeyVault:
    """A key vault that reaches its collection through the runtime once MongoDB is connected."""
    secret = settings.master_key.get_secret_value() if settings.master_key else None
    return KeyVault(secret, lambda: runtime.database(settings.database)[DATA_KEYS], lambda: runtime.reads,
                    cache_ttl_s=settings.cache_ttl_s)
