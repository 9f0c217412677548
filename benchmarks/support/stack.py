"""Where a benchmark's servers come from: the environment, or a local stack it starts on free ports and stops."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clientbase.stack import LocalStack
from clientbase.stack.stack import StackEndpoints

from benchmarks.support.signals import exit_cleanly_on_stop

BACKEND_ENV = "CLIENTBASE_MONGO_BACKEND"


@contextmanager
def stack_for(backend: str) -> Iterator[tuple[StackEndpoints, str]]:
    """(endpoints, label) of the servers in the environment, else of a fresh stack, stopped after (on SIGTERM too)."""
    bootstrap, mongo_url = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGO_URL")
    if bootstrap and mongo_url:
        given = StackEndpoints(bootstrap, mongo_url)
        yield StackEndpoints(bootstrap, mongo_url, smtp_host=os.environ.get("SMTP_HOST", given.smtp_host),
                             smtp_port=int(os.environ.get("SMTP_PORT", given.smtp_port)),
                             mailpit_url=os.environ.get("MAILPIT_URL", given.mailpit_url)), \
            os.environ.get("BENCH_LABEL", "given servers")
        return
    saved = os.environ.get(BACKEND_ENV)
    os.environ[BACKEND_ENV] = backend
    try:
        with exit_cleanly_on_stop(), tempfile.TemporaryDirectory(prefix="clientbase-bench-") as state:
            stack = LocalStack.ephemeral(Path(state))
            try:
                yield stack.up(), f"ferretdb/{backend}"
            finally:
                stack.down()
    finally:
        if saved is None:
            os.environ.pop(BACKEND_ENV, None)
        else:
            os.environ[BACKEND_ENV] = saved


@contextmanager
def endpoints_for(backend: str) -> Iterator[tuple[str, str, str]]:
    """(Kafka bootstrap, MongoDB URL, label): from KAFKA_BOOTSTRAP_SERVERS/MONGO_URL, else a fresh stack on `backend`."""
    with stack_for(backend) as (endpoints, label):
        yield endpoints.kafka_bootstrap, endpoints.mongo_url, label
