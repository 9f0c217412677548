"""An open-loop feed at the edges of the system, with the effects each event it sends is expected to have.

Every tick publishes a new person's web form; follow-ups of earlier persons go out once the services
said who their client is: a repeat call from the same phone, an order, an order-status email request and an
activity by the owner. Roster changes and poison activities are interleaved. Sends never wait for the system:
each tick's events are handed to a task that retries them until the broker takes them (a redelivered input is
harmless, the services dedupe by event id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from clientbase import topics
from clientbase.kafka.renewal import REFUSED_PRODUCER_STATE
from clientbase.system.observer import Observer
from clientbase.system.story import Person, _Writer, call_lead, form_lead, make_persons, roster

SEND_RETRY_S = 1.0
POISON_EVERY = 10
ROSTER_EVERY = 15


@dataclass
class Expected:
    """What a segment of the feed sent, and so which effects must exist exactly once."""

    leads_of: dict[str, list[str]] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)
    activities: set[str] = field(default_factory=set)
    roster_changes: set[str] = field(default_factory=set)
    poison: set[str] = field(default_factory=set)
    fed: int = 0

    def person_of_lead(self) -> dict[str, str]:
        """Which person sent each lead."""
        return {lead: person for person, leads in self.leads_of.items() for lead in leads}


class Feed:
    """Publishes a steady stream of edge events under a topic prefix while faults happen elsewhere."""

    def __init__(self, bootstrap: str, prefix: str, tag: str, observer: Observer, *, rate_per_s: float,
                 seed: int = 1) -> None:
        self.bootstrap, self.prefix, self.tag, self.observer, self.rate = bootstrap, prefix, tag, observer, rate_per_s
        self.rng = random.Random(f"{seed}:{tag}")
        self.expected = Expected()
        self.writer = _Writer(f"faults:{tag}")  # type: ignore[arg-type] - any text seeds the ids
        self._persons: list[Person] = []
        self._pending: dict[str, list[str]] = {}  # person key -> follow-ups not yet sent
        self._sends: set[asyncio.Task[None]] = set()
        self._producer: AIOKafkaProducer | None = None
        self._renewals = 0
        self._renewing = asyncio.Lock()
        self._managers = roster(self.writer, date.today())[0]

    def event_id(self) -> str:
        """The feed's next deterministic event id."""
        return self.writer.event_id()

    async def start(self) -> None:
        """Connect the producer and send the roster, so new clients find managers."""
        await self._connect()
        self._send([(topics.MANAGERS_CHANGED, m, m["manager_id"]) for m in self._managers])

    async def _connect(self) -> None:
        """Start a new idempotent producer."""
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
                                          request_timeout_ms=10_000)
        await self._producer.start()

    async def _renew(self, seen: int) -> None:
        """Replace a producer whose sequence state the broker refused after a crash (once per refusal seen)."""
        async with self._renewing:
            if self._renewals == seen and self._producer is not None:
                with contextlib.suppress(KafkaError, asyncio.TimeoutError):
                    await asyncio.wait_for(self._producer.stop(), 30)
                await self._connect()
                self._renewals += 1

    async def run(self, seconds: float) -> None:
        """Tick at the feed's rate for `seconds`, whatever the system does meanwhile."""
        loop = asyncio.get_running_loop()
        began, ticks = loop.time(), 0
        while loop.time() - began < seconds:
            self.tick(ticks)
            ticks += 1
            await asyncio.sleep(max(0.0, began + ticks / self.rate - loop.time()))

    def tick(self, number: int) -> None:
        """One tick: a new person, the follow-ups that can go out now, sometimes a roster change or a poison."""
        edges = [self._new_person()]
        edges += self._follow_ups()
        if number % POISON_EVERY == POISON_EVERY - 1:
            edges.append(self._poison())
        if number % ROSTER_EVERY == ROSTER_EVERY - 1:
            edges.append(self._roster_change(number))
        self._send(edges)

    async def drain(self) -> None:
        """Send every follow-up possible once the system has caught up, and wait until every send is taken."""
        self._send(self._follow_ups(every_step=True))
        while self._sends:
            await asyncio.gather(*list(self._sends))

    async def stop(self) -> None:
        """Stop the producer (after `drain`)."""
        for task in self._sends:
            task.cancel()
        if self._producer is not None:
            await self._producer.stop()

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _new_person(self) -> tuple[topics.Topic, dict[str, Any], str | None]:
        [person] = make_persons(self.rng, 1, date.today(), 1, self.tag).values()
        person.key = f"{self.tag}-{len(self._persons):04}"
        person.email = f"{person.handle}.{person.key}@mail{self.tag}.example"
        person.email_consent, person.channel = True, "form"
        self._persons.append(person)
        phone = self.rng.choice(person.country.formats)(person.national)
        lead = form_lead(self.writer, person, self._now(), self.rng, phone=phone, email=person.email)
        self.expected.leads_of[person.key] = [lead["event_id"]]
        self._pending[person.key] = ["call", "order", "notify", "activity"] if self.rng.random() < 0.5 else [
            "order", "notify", "activity"]
        return topics.LEADS_FORM_SUBMITTED, lead, None

    def _follow_ups(self, every_step: bool = False) -> list[tuple[topics.Topic, dict[str, Any], str | None]]:
        """The next follow-up of each person whose client is known (with `every_step`, all that can go out)."""
        edges = []
        for person in self._persons:
            pending = self._pending.get(person.key)
            client = self._client_of(person)
            while pending and client is not None:
                if pending[0] == "activity" and self.observer.seen.owner.get(client) is None:
                    break
                edges.append(self._follow_up(pending.pop(0), person, client))
                if not every_step:
                    break
        return edges

    def _client_of(self, person: Person) -> str | None:
        for lead in self.expected.leads_of.get(person.key, []):
            if (client := self.observer.seen.client_of_lead.get(lead)) is not None:
                return self.observer.seen.current(client)
        return None

    def _follow_up(self, step: str, person: Person, client: str) -> tuple[topics.Topic, dict[str, Any], str | None]:
        now = self._now()
        order_id = f"SO-{person.key}"
        if step == "call":
            lead = call_lead(self.writer, person, now, self.rng, person.e164)
            self.expected.leads_of[person.key].append(lead["event_id"])
            return topics.LEADS_CALL_RECEIVED, lead, None
        if step == "order":
            body = {"event_id": self.event_id(), "occurred_at": now.isoformat(), "order_id": order_id,
                    "kind": "order", "amount": self.rng.randrange(100, 5000), "currency": person.country.currency,
                    "phone": person.e164}
            self.expected.orders[order_id] = person.key
            return topics.SALES_RECORDED, body, person.e164
        if step == "notify":
            body = {"event_id": self.event_id(), "occurred_at": now.isoformat(), "client_id": client,
                    "channel": "email", "category": "service", "template": "order_status",
                    "params": {"order_id": order_id, "status": "shipped"}, "dedupe_key": f"shipped-{order_id}"}
            self.expected.requests[body["event_id"]] = order_id
            return topics.NOTIFICATIONS_REQUESTED, body, client
        body = {"event_id": self.event_id(), "occurred_at": now.isoformat(), "client_id": client,
                "manager_id": self.observer.seen.owner[client], "kind": "call", "summary": "follow-up"}
        self.expected.activities.add(body["event_id"])
        return topics.ACTIVITIES_RECORDED, body, client

    def _poison(self) -> tuple[topics.Topic, dict[str, Any], str | None]:
        body = {"event_id": self.event_id(), "occurred_at": self._now().isoformat(), "client_id": 42}
        self.expected.poison.add(body["event_id"])
        return topics.ACTIVITIES_RECORDED, body, "poison"

    def _roster_change(self, number: int) -> tuple[topics.Topic, dict[str, Any], str | None]:
        manager = self._managers[number % (len(self._managers) - 1)]
        body = {**manager, "event_id": self.event_id(), "occurred_at": self._now().isoformat(),
                "capacity": 200 + number}
        self.expected.roster_changes.add(body["event_id"])
        return topics.MANAGERS_CHANGED, body, manager["manager_id"]

    def _send(self, edges: list[tuple[topics.Topic, dict[str, Any], str | None]]) -> None:
        if not edges:
            return
        self.expected.fed += len(edges)
        task = asyncio.create_task(self._deliver(edges))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _deliver(self, edges: list[tuple[topics.Topic, dict[str, Any], str | None]]) -> None:
        """Hand the events to the producer in order and wait for the acks, retrying through a broker outage."""
        assert self._producer is not None
        for topic, body, key in edges:
            value = json.dumps(body, ensure_ascii=False).encode()
            while True:
                seen = self._renewals
                try:
                    await self._producer.send_and_wait(self.prefix + topic.name, value,
                                                       key=key.encode() if key else None)
                    break
                except REFUSED_PRODUCER_STATE:
                    await self._renew(seen)
                except (KafkaError, asyncio.TimeoutError):
                    await asyncio.sleep(SEND_RETRY_S)

