"""A producer whose sequence the real broker refuses is replaced, and the events still get through."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import OutOfOrderSequenceNumber

from clientbase.events.envelope import Envelope
from clientbase.kafka.broker import create_broker
from clientbase.kafka.publishing import EventPublisher
from clientbase.kafka.renewal import RenewingProducer
from clientbase.settings import KafkaSettings
from clientbase.testing.kafka_io import create_topics, read_records
from clientbase.topics import Topic

pytestmark = pytest.mark.integration


class Probe(Envelope):
    """A test event."""

    EVENT_TYPE = "ProbeSent"
    n: int


def probe(n: int) -> Probe:
    """The n-th probe event."""
    return Probe.create(source="test", correlation_id=f"probe-{n}", n=n)


def skip_sequence(broker: Any, topic: str, by: int = 5) -> None:
    """Move the live producer's next sequence number for the topic's partition ahead, as a broker crash can."""
    producer = broker.config.broker_config.producer._producer.producer  # noqa: SLF001 - the state a crash breaks
    producer._txn_manager.increment_sequence_number(TopicPartition(topic, 0), by)  # noqa: SLF001


async def test_refused_sequence_renews_the_producer_and_the_batch_goes_through(stack_endpoints: Any) -> None:
    name = f"test.renewal.{uuid.uuid4().hex[:8]}"
    await create_topics(stack_endpoints.kafka_bootstrap, name)
    topic = Topic(name, 1, "k", ("test",), ("test",), "a test topic")
    broker = create_broker(KafkaSettings(bootstrap_servers=stack_endpoints.kafka_bootstrap), client_id="renewal")
    renewal = RenewingProducer(broker)
    publisher = EventPublisher(broker, renewal=renewal)
    bare = EventPublisher(broker)
    await broker.connect()
    try:
        await publisher.publish(topic, probe(1), key="k")
        skip_sequence(broker, name)
        with pytest.raises(OutOfOrderSequenceNumber):  # what the services saw after a broker SIGKILL
            await bare.publish(topic, probe(2), key="k")
        await publisher.publish_all([(topic, probe(n), "k") for n in (3, 4)])
        assert renewal.renewals == 1
        await publisher.publish(topic, probe(5), key="k")
        assert renewal.renewals == 1  # the renewed producer's sequences are accepted
    finally:
        await broker.stop()
    records = await read_records(stack_endpoints.kafka_bootstrap, name, 4)
    assert [Probe.model_validate_json(r.value).n for r in records] == [1, 3, 4, 5]
