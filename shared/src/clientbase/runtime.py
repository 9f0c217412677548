"""The composition kit of a service: broker, reliability kit, MongoDB, publisher and the ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import AckPolicy
from faststream.specification import AsyncAPI
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from clientbase.events.contract import model_for
from clientbase.kafka.broker import create_broker
from clientbase.kafka.dead_letter import DeadLetterer
from clientbase.kafka.publishing import EventPublisher
from clientbase.kafka.reliability import BatchHandler, ConsumerReliability
from clientbase.kafka.renewal import RenewingProducer
from clientbase.kafka.stores import CONSUMER_INDEXES
from clientbase.logging import configure_logging, route_server_logs_to_root
from clientbase.mongo import IndexSpec, create_mongo_client, ensure_indexes, ping
from clientbase.mongo_reads import KeyedReads, detect_strategy
from clientbase.settings import ServiceSettings
from clientbase.topics import TOPICS
from clientbase.http import make_health_route, make_metrics_route, make_ready_route

log = structlog.get_logger(__name__)

SPEC_VERSION = "1.0.0"


async def raw_batch(message: Any) -> None:
    """Decoder that leaves a batch undecoded: handlers read the raw records, so bad bytes reach the use case."""
    return None


class ServiceApp(AsgiFastStream):
    """The service's ASGI app: a route whose path ends in `/` also serves every path under it."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Exact routes first, then the longest prefix route, then FastStream's own handling."""
        path = scope.get("path", "") if scope["type"] == "http" else None
        if path is not None and not any(path == route for route, _ in self.routes):
            prefixed = [(route, app) for route, app in self.routes if route.endswith("/") and path.startswith(route)]
            if prefixed:
                await max(prefixed, key=lambda pair: len(pair[0]))[1](scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class ServiceRuntime:
    """Holds what a service's handlers use; MongoDB is connected only when the app starts."""

    def __init__(self, service: str, settings: ServiceSettings, indexes: Sequence[IndexSpec] = ()) -> None:
        self.service = service
        self.settings = settings
        self.indexes = (*CONSUMER_INDEXES, *indexes)
        self.registry = CollectorRegistry()
        self.reliability = ConsumerReliability(settings.group_id, settings.reliability)
        self.broker: KafkaBroker = create_broker(
            settings.kafka,
            client_id=service,
            middlewares=[KafkaPrometheusMiddleware(registry=self.registry, app_name=service)],
        )
        self.producer = RenewingProducer(self.broker)
        self.publisher = EventPublisher(self.broker, self._declare_publications(), self.producer)
        self._mongo: AsyncMongoClient[dict[str, Any]] | None = None
        self._db: AsyncDatabase[dict[str, Any]] | None = None
        self.reads = KeyedReads()

    def _declare_publications(self) -> dict[str, Any]:
        """Declare a publisher for every registry topic this service produces, so AsyncAPI documents it."""
        declared: dict[str, Any] = {}
        for topic in TOPICS:
            if any(producer.split()[0] == self.service for producer in topic.producers):
                declared[topic.name] = self.broker.publisher(
                    topic.name, title=f"{topic.name}:publish", description=topic.description,
                    schema=model_for(topic.name),
                )
        return declared

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        """The service's own database; only available while the app runs."""
        if self._db is None:
            raise RuntimeError(f"{self.service}: MongoDB is not connected yet")
        return self._db

    def database(self, name: str) -> AsyncDatabase[dict[str, Any]]:
        """Another database on the service's MongoDB connection (e.g. the key vault); only while the app runs."""
        if self._mongo is None:
            raise RuntimeError(f"{self.service}: MongoDB is not connected yet")
        return self._mongo[name]

    async def connect(self) -> None:
        """Connect MongoDB, bootstrap indexes and arm the reliability kit."""
        self._mongo = create_mongo_client(self.settings.mongo, app_name=self.service)
        self._db = self._mongo[self.settings.database]
        await ensure_indexes(self._db, self.indexes)
        self.reads = KeyedReads(await detect_strategy(self._db, self.settings.mongo.read_strategy))
        self.reliability.attach(self._db, DeadLetterer(self.producer), self.reads)
        log.info("service.mongo_connected", database=self.settings.database, read_strategy=self.reads.strategy)

    async def close(self) -> None:
        """Close the MongoDB client."""
        if self._mongo is not None:
            await self._mongo.close()
            self._mongo = self._db = None

    async def mongo_ready(self) -> bool:
        """Whether MongoDB answers."""
        return self._mongo is not None and await ping(self._mongo)

    async def kafka_ready(self) -> bool:
        """Whether the Kafka cluster answers."""
        return bool(await self.broker.ping(timeout=2.0))

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Connect before the broker starts consuming, close after it stops."""
        route_server_logs_to_root()
        await self.connect()
        try:
            yield
        finally:
            await self.close()

    def batch_options(self, **overrides: Any) -> dict[str, Any]:
        """Subscriber options of a reliable batch consumer: ack after the effect, bounded batches, never evicted."""
        consumer = self.settings.reliability
        return {
            "group_id": self.settings.group_id, "ack_policy": AckPolicy.NACK_ON_ERROR, "auto_offset_reset": "earliest",
            "batch": True, "max_records": consumer.batch_max_records, "batch_timeout_ms": consumer.batch_timeout_ms,
            "max_poll_interval_ms": consumer.max_poll_interval_ms, "session_timeout_ms": consumer.session_timeout_ms,
            "heartbeat_interval_ms": consumer.heartbeat_interval_ms, "decoder": raw_batch, **overrides,
        }

    async def handle_batch(self, message: Any, handler: BatchHandler) -> None:
        """Run a batch subscriber's handler under the reliability kit."""
        await self.reliability.run(message.raw_message, handler)

    def include(self, routers: Iterable[KafkaRouter]) -> None:
        """Register the service's subscribers."""
        for router in routers:
            self.broker.include_router(router)

    def build_app(self, description: str, extra_routes: Sequence[tuple[str, Any]] = ()) -> AsgiFastStream:
        """The ASGI app: Kafka consumers plus /health, /ready, /metrics and the service's own routes."""
        configure_logging(self.service, self.settings.logging)
        routes = [
            ("/health", make_health_route()),
            ("/ready", make_ready_route({"kafka": self.kafka_ready, "mongo": self.mongo_ready})),
            ("/metrics", make_metrics_route(self.registry)),
            *extra_routes,
        ]
        return ServiceApp(
            self.broker,
            asgi_routes=routes,
            lifespan=self.lifespan,
            logger=structlog.get_logger(self.service),
            specification=AsyncAPI(title=f"ClientBase {self.service}", version=SPEC_VERSION, description=description),
            asyncapi_path="/docs/asyncapi",
        )
