"""Reads a batch of events that may carry sealed personal fields: one key lookup for the whole batch."""

from __future__ import annotations

import json
from collections.abc import Sequence

from clientbase.crypto.vault import KeyVault
from clientbase.events.personal import Clear, key_id_of, open_event


async def open_batch(clear: type[Clear], bodies: Sequence[bytes], vault: KeyVault | None) -> list[Clear]:
    """The clear events of a batch of version 1 or 2 payloads; without a vault personal fields read as erased."""
    payloads = [json.loads(body) for body in bodies]
    key_ids = {key for data in payloads if (key := key_id_of(data)) is not None}
    keys = await vault.keys_for(key_ids) if vault is not None and key_ids else {}
    return [open_event(clear, data, keys) for data in payloads]
