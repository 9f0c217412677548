"""Every service publishes through an idempotent producer that waits for all in-sync replicas."""

from __future__ import annotations

import importlib

import pytest

from clientbase.kafka.broker import create_broker
from clientbase.settings import KafkaSettings


def test_the_broker_factory_asks_for_an_idempotent_producer_with_acks_all() -> None:
    broker = create_broker(KafkaSettings(), client_id="pin")
    options = broker._connection_kwargs
    assert options["enable_idempotence"] is True
    assert options["acks"] == "all"


@pytest.mark.parametrize("service", ["intake", "rotation", "notify", "metrics"])
def test_each_service_app_publishes_with_the_idempotent_producer(service: str) -> None:
    app = importlib.import_module(f"{service}.app").create_app()
    options = app.broker._connection_kwargs
    assert (options["enable_idempotence"], options["acks"]) == (True, "all")
