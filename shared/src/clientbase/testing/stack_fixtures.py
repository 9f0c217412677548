"""Pytest plugin giving tests the real Kafka broker and MongoDB-compatible server, started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from clientbase.stack import LocalStack, StackEndpoints

KAFKA_ENV = "KAFKA_BOOTSTRAP_SERVERS"
MONGO_ENV = "MONGO_URL"


@pytest.fixture(scope="session")
def stack_endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackEndpoints]:
    """Endpoints from KAFKA_BOOTSTRAP_SERVERS and MONGO_URL when both are set, else of an ephemeral local stack."""
    kafka_bootstrap, mongo_url = os.environ.get(KAFKA_ENV), os.environ.get(MONGO_ENV)
    if kafka_bootstrap and mongo_url:
        yield StackEndpoints(kafka_bootstrap=kafka_bootstrap, mongo_url=mongo_url)
        return
    stack = LocalStack.ephemeral(tmp_path_factory.mktemp("stack"))
    try:
        stack.prepare()
        yield stack.up()
    finally:
        stack.down()
