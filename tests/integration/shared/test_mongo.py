"""MongoDB helpers against the real MongoDB-compatible server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from clientbase.mongo import IndexSpec, create_mongo_client, ensure_indexes, ping
from clientbase.settings import MongoSettings

pytestmark = pytest.mark.integration

SPECS = (
    IndexSpec("things", [("email", 1)], name="email_unique", unique=True),
    IndexSpec("things", [("owner", 1), ("created_at", -1)], name="owner_created"),
    IndexSpec("things", [("state", 1)], name="state"),
)


async def test_indexes_are_ensured_repeatedly_and_enforced(stack_endpoints: Any) -> None:
    client = create_mongo_client(MongoSettings(url=stack_endpoints.mongo_url), app_name="test")
    db = client[f"test_mongo_{uuid.uuid4().hex[:8]}"]
    try:
        assert await ping(client)
        await ensure_indexes(db, SPECS)
        await ensure_indexes(db, SPECS)  # a restart ensures the same indexes again
        names = {index["name"] async for index in await db["things"].list_indexes()}
        assert {"email_unique", "owner_created", "state"} <= names
        await db["things"].insert_one({"email": "a@example.com"})
        with pytest.raises(DuplicateKeyError):
            await db["things"].insert_one({"email": "a@example.com"})
    finally:
        await client.drop_database(db.name)
        await client.close()
