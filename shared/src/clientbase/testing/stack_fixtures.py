"""Pytest plugin giving tests the real Kafka broker, MongoDB-compatible server and Mailpit, started once per session."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.stack import LocalStack, StackEndpoints

KAFKA_ENV = "KAFKA_BOOTSTRAP_SERVERS"
MONGO_ENV = "MONGO_URL"
SMTP_HOST_ENV = "SMTP_HOST"
SMTP_PORT_ENV = "SMTP_PORT"
MAILPIT_URL_ENV = "MAILPIT_URL"
POSTGRES_URL_ENV = "POSTGRES_URL"


def _endpoints_from_env(kafka_bootstrap: str, mongo_url: str) -> StackEndpoints:
    defaults = StackEndpoints(kafka_bootstrap=kafka_bootstrap, mongo_url=mongo_url)
    return StackEndpoints(
        kafka_bootstrap=kafka_bootstrap,
        mongo_url=mongo_url,
        smtp_host=os.environ.get(SMTP_HOST_ENV) or defaults.smtp_host,
        smtp_port=int(os.environ.get(SMTP_PORT_ENV) or defaults.smtp_port),
        mailpit_url=os.environ.get(MAILPIT_URL_ENV) or defaults.mailpit_url,
        postgres_url=os.environ.get(POSTGRES_URL_ENV) or None,
    )


@pytest.fixture(scope="session")
def stack_endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackEndpoints]:
    """Endpoints from KAFKA_BOOTSTRAP_SERVERS and MONGO_URL (SMTP_HOST, SMTP_PORT, MAILPIT_URL, POSTGRES_URL
    optional) when both are set, else of an ephemeral local stack."""
    kafka_bootstrap, mongo_url = os.environ.get(KAFKA_ENV), os.environ.get(MONGO_ENV)
    if kafka_bootstrap and mongo_url:
        yield _endpoints_from_env(kafka_bootstrap, mongo_url)
        return
    stack = LocalStack.ephemeral(tmp_path_factory.mktemp("stack"))
    try:
        stack.prepare()
        yield stack.up()
    finally:
        stack.down()


@pytest.fixture
async def scratch_db(stack_endpoints: StackEndpoints,
                     request: pytest.FixtureRequest) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A database of the test's own on the stack's MongoDB-compatible server (aware datetimes), dropped afterwards."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_endpoints.mongo_url, tz_aware=True,
                                                                serverSelectionTimeoutMS=10_000)
    name = re.sub(r"\W", "_", request.node.module.__name__.rsplit(".", 1)[-1])[:40]
    database = client[f"{name}_{uuid.uuid4().hex[:8]}"]
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()
