"""Where a benchmark's servers come from: the environment, or a local stack it starts on free ports and stops."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clientbase.stack import LocalStack

BACKEND_ENV = "CLIENTBASE_MONGO_BACKEND"


@contextmanager
def endpoints_for(backend: str) -> Iterator[tuple[str, str, str]]:
    """(Kafka bootstrap, MongoDB URL, label): from KAFKA_BOOTSTRAP_SERVERS/MONGO_URL, else a fresh stack on `backend`."""
    bootstrap, mongo_url = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGO_URL")
    if bootstrap and mongo_url:
        yield bootstrap, mongo_url, os.environ.get("BENCH_LABEL", "given servers")
        return
    saved = os.environ.get(BACKEND_ENV)
    os.environ[BACKEND_ENV] = backend
    try:
        with tempfile.TemporaryDirectory(prefix="clientbase-bench-") as state:
            stack = LocalStack.ephemeral(Path(state))
            try:
                endpoints = stack.up()
                yield endpoints.kafka_bootstrap, endpoints.mongo_url, f"ferretdb/{backend}"
            finally:
                stack.down()
    finally:
        if saved is None:
            os.environ.pop(BACKEND_ENV, None)
        else:
            os.environ[BACKEND_ENV] = saved
