"""Helpers for notify's integration tests: topics under a prefix, events in, outcomes, mail and SMS out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import SecretStr

from clientbase import topics
from clientbase.events.outbound import ClientRegistered
from clientbase.settings import KafkaSettings, MongoSettings, ReliabilitySettings
from clientbase.stack.ports import free_ports
from clientbase.testing.kafka_io import wait_for

from notify.settings import Settings
from notify.sink import SmsSink

INPUTS = (topics.NOTIFICATIONS_REQUESTED, topics.CONSENTS_CHANGED, topics.CLIENTS_REGISTERED,
          topics.CLIENTS_UPDATED, topics.CLIENTS_MERGED, topics.MANAGERS_CHANGED, topics.CLIENTS_ASSIGNED,
          topics.HANDOVERS_OPENED, topics.HANDOVERS_OVERDUE, topics.CLIENTS_SEGMENTED, topics.CAMPAIGNS_REQUESTED,
          topics.CLIENTS_HOT_UNTOUCHED)
TOKEN_SECRET = "test-token-key"
WEBHOOK_SECRET = "test-webhook-key"


def new_prefix() -> str:
    """A topic prefix no other test uses."""
    return f"n{uuid.uuid4().hex[:10]}."


async def create_notify_topics(bootstrap: str, prefix: str) -> None:
    """Create notify's inputs, outcomes and dead-letter topics under a prefix (one partition each: ordered)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        new = [NewTopic(prefix + t.name, 1, 1) for t in (*INPUTS, topics.NOTIFICATIONS_OUTCOMES,
                                                         topics.CAMPAIGNS_COMPLETED)]
        new += [NewTopic(prefix + t.dlq, 1, 1) for t in INPUTS]
        await admin.create_topics(new)
    finally:
        await admin.close()


def notify_settings(endpoints: Any, mail: Any, prefix: str, **overrides: Any) -> Settings:
    """Settings of a notify replica on a unique database, group and topic prefix."""
    suffix = prefix.strip(".")
    values: dict[str, Any] = dict(
        database=f"test_notify_{suffix}", group_id=f"test-notify-{suffix}", topic_prefix=prefix,
        kafka=KafkaSettings(bootstrap_servers=endpoints.kafka_bootstrap), mongo=MongoSettings(url=endpoints.mongo_url),
        reliability=ReliabilitySettings(max_attempts=3, backoff_initial_s=0.05, backoff_max_s=0.2,
                                        batch_timeout_ms=50),
        smtp_host=mail.smtp_host, smtp_port=mail.smtp_port, token_secret=SecretStr(TOKEN_SECRET),
        webhook_secret=SecretStr(WEBHOOK_SECRET), scheduler_interval_s=0.3, send_backoff_s=0.05, recipient_retry_s=0.5,
        breaker_reset_s=60.0, sms_timeout_s=1.0,
    )
    values.update(overrides)
    return Settings(**values)


class Producer:
    """Publishes test events to the prefixed public topics."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap, self.prefix = bootstrap, prefix

    async def send(self, topic: topics.Topic, payloads: Iterable[dict[str, Any] | bytes], key: str = "k") -> None:
        """Produce payloads (dicts as JSON) in order."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            for payload in payloads:
                body = payload if isinstance(payload, bytes) else json.dumps(payload, default=str).encode()
                await producer.send_and_wait(self.prefix + topic.name, body, key=key.encode())
        finally:
            await producer.stop()


def client_registered(client_id: str, *, phones: list[tuple[str, str]] = (), emails: list[str] = (),
                      consents: list[dict[str, Any]] = (), locale: str = "ru-RU", name: str = "Иван Иванов",
                      region: str | None = "Москва") -> dict[str, Any]:
    """A ClientRegistered payload as intake would publish it."""
    event = ClientRegistered.create(
        source="intake", correlation_id=str(uuid.uuid4()), client_id=client_id, kind="person", name=name,
        phones=[{"e164": e, "type": t} for e, t in phones], emails=[{"address": e} for e in emails],
        region=region, locale=locale, language=locale.split("-")[0], lead_source={"channel": "form"},
        consents=consents, lead_event_id=str(uuid.uuid4()),
    )
    return event.model_dump(mode="json")


def consent(channel: str, address: str, granted: bool = True, minutes_ago: int = 10) -> dict[str, Any]:
    """A consent evidence item of a client snapshot."""
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {"channel": channel, "address": address, "granted": granted, "text": "Согласен на рассылку",
            "text_version": "2026-01", "at": at.isoformat(), "source": "form:landing"}


def request(client_id: str | None = None, *, channel: str = "email", category: str = "marketing",
            template: str = "promo_generic", params: dict[str, Any] | None = None, manager_id: str | None = None,
            **extra: Any) -> dict[str, Any]:
    """A NotificationRequested payload."""
    body = {"event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(), "channel": channel,
            "category": category, "template": template,
            "params": {"offer": "Скидка 10% на всё"} if params is None else params, **extra}
    body["client_id" if client_id else "manager_id"] = client_id or manager_id
    return body


def unique_phone() -> str:
    """A valid Russian mobile number no other test uses."""
    return "+7916" + str(uuid.uuid4().int)[:7]


def unique_email(tag: str = "n") -> str:
    """An email address no other test uses."""
    return f"{tag}.{uuid.uuid4().hex[:10]}@mail.example"


class Outcomes:
    """Follows the prefixed outcomes topic and finds outcomes by request id."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap, self.topic = bootstrap, prefix + topics.NOTIFICATIONS_OUTCOMES.name
        self.seen: list[dict[str, Any]] = []
        self._consumer: Any = None

    async def start(self) -> None:
        """Start following the topic from its beginning."""
        self._consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest",
                                          group_id=None)
        await self._consumer.start()

    async def stop(self) -> None:
        """Stop following."""
        await self._consumer.stop()

    async def of(self, request_id: str, count: int = 1, timeout_s: float = 60.0) -> list[dict[str, Any]]:
        """The first `count` outcomes of a request (waiting for them)."""
        async def enough() -> bool:
            batch = await self._consumer.getmany(timeout_ms=100)
            self.seen += [json.loads(r.value) for rs in batch.values() for r in rs]
            return len([o for o in self.seen if o["request_event_id"] == request_id]) >= count

        await wait_for(enough, timeout_s=timeout_s, interval_s=0.05)
        return [o for o in self.seen if o["request_event_id"] == request_id]

    async def final(self, request_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """The final outcome of a request."""
        async def has_final() -> bool:
            outcomes = await self.of(request_id, 1, timeout_s)
            return any(o["status"] != "deferred" for o in outcomes)

        await wait_for(has_final, timeout_s=timeout_s)
        return next(o for o in self.seen if o["request_event_id"] == request_id and o["status"] != "deferred")


class Mailpit:
    """Mailpit's HTTP API."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def messages_to(self, address: str) -> list[dict[str, Any]]:
        """Summaries of the captured messages to an address."""
        async with httpx.AsyncClient() as http:
            found = (await http.get(f"{self.url}/api/v1/search", params={"query": f"to:{address}"})).json()
        return found.get("messages") or []

    async def wait_for_messages(self, address: str, count: int = 1, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Wait until `count` messages to an address arrived."""
        async def arrived() -> bool:
            return len(await self.messages_to(address)) >= count

        await wait_for(arrived, timeout_s=timeout_s)
        return await self.messages_to(address)

    async def message(self, message_id: str) -> dict[str, Any]:
        """One message in full."""
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{self.url}/api/v1/message/{message_id}")).json()

    async def headers(self, message_id: str) -> dict[str, list[str]]:
        """One message's headers."""
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{self.url}/api/v1/message/{message_id}/headers")).json()


@asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[None]:
    """Serve an ASGI app with uvicorn inside the test's event loop until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: _true(server.started), timeout_s=60)
        yield
    finally:
        server.should_exit = True
        await task


class SinkServer:
    """The SMS sink served by uvicorn inside the test's event loop."""

    def __init__(self) -> None:
        self.sink = SmsSink()
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.sink, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SinkServer:
        self.task = asyncio.create_task(self.server.serve())
        await wait_for(lambda: _true(self.server.started), timeout_s=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task:
            await self.task


async def _true(value: bool) -> bool:
    return value
