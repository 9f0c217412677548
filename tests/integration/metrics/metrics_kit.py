"""Kit for metrics integration tests: the real app in-process on isolated topics, a database and an API client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import TestApp
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.settings import KafkaSettings, MongoSettings, ReliabilitySettings

from history_gen import Produced
from metrics.app import create_app
from metrics.facts import CONSUMED
from metrics.settings import Settings

TOKEN = "test-token"
ZONE = "Europe/Sofia"


async def create_prefixed_topics(bootstrap: str, prefix: str) -> None:
    """The consumed and published topics under a prefix, keeping their events forever as the registry's event topics must."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for topic in (*CONSUMED, topics.CLIENTS_SEGMENTED):
            for name, partitions in ((prefix + topic.name, topic.partitions), (prefix + topic.dlq, 1)):
                try:
                    await admin.create_topics([NewTopic(name, partitions, 1, topic_configs={"retention.ms": "-1"})])
                except TopicAlreadyExistsError:
                    pass
    finally:
        await admin.close()


@dataclass
class MetricsLive:
    """One test's metrics service: settings, producer, database, and the running app when started."""

    settings: Settings
    producer: AIOKafkaProducer
    mongo: AsyncMongoClient[dict[str, Any]]
    app: Any = None

    @property
    def prefix(self) -> str:
        """The test's topic prefix."""
        return self.settings.topic_prefix

    @property
    def db(self) -> Any:
        """The service's database."""
        return self.mongo[self.settings.database]

    async def produce(self, events: Iterable[Produced]) -> None:
        """Publish events as their producers would, keyed by client or manager."""
        sends = [await self.producer.send(self.prefix + e.topic.name, e.body, key=e.key.encode(),
                                          headers=[("event_id", e.event_id.encode())]) for e in events]
        await asyncio.gather(*sends)

    async def lag(self) -> int:
        """Records on the test's topics that the service's consumer group has not committed yet."""
        bootstrap = self.settings.kafka.bootstrap_servers
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await consumer.start()
        await admin.start()
        try:
            tps = [TopicPartition(self.prefix + t.name, p) for t in CONSUMED for p in range(t.partitions)]
            ends = await consumer.end_offsets(tps)
            committed = await admin.list_consumer_group_offsets(self.settings.group_id)
            return sum(end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items())
        finally:
            await consumer.stop()
            await admin.close()

    async def caught_up(self, timeout_s: float = 240.0) -> None:
        """Wait until the service has committed every record produced so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while await self.lag() > 0:
            if loop.time() > deadline:
                raise AssertionError("metrics did not catch up")
            await asyncio.sleep(0.3)

    async def get(self, path: str, token: str | None = TOKEN, **params: str) -> httpx.Response:
        """Call the running app's read API."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as client:
            return await client.get(path, params=params, headers=headers)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the metrics app in-process on the real broker and database."""
        self.app = create_app(self.settings)
        async with TestApp(self.app):
            yield


@asynccontextmanager
async def metrics_live(endpoints: Any) -> AsyncIterator[MetricsLive]:
    """A fresh topic prefix, database and consumer group; dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        database=f"test_metrics_{suffix}", group_id=f"test-metrics-{suffix}", topic_prefix=f"t{suffix}.",
        timezone=ZONE, api_token=TOKEN, rollup_interval_s=0.2,
        kafka=KafkaSettings(bootstrap_servers=endpoints.kafka_bootstrap), mongo=MongoSettings(url=endpoints.mongo_url),
        reliability=ReliabilitySettings(max_attempts=2, backoff_initial_s=0.05, backoff_max_s=0.2),
    )
    await create_prefixed_topics(endpoints.kafka_bootstrap, settings.topic_prefix)
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_url, tz_aware=True)
    try:
        yield MetricsLive(settings, producer, mongo)
    finally:
        await producer.stop()
        await mongo.drop_database(settings.database)
        await mongo.close()
