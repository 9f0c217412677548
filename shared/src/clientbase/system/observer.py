"""Reads what the services publish, from outside, and keeps what a player of a story and its summary need."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer

from clientbase import topics

WATCHED = (topics.CLIENTS_REGISTERED, topics.CLIENTS_UPDATED, topics.CLIENTS_MERGED, topics.CLIENTS_ASSIGNED,
           topics.LEADS_REJECTED, topics.HANDOVERS_OPENED, topics.ROTATIONS_DEFERRED,
           topics.NOTIFICATIONS_OUTCOMES, topics.SALES_ATTRIBUTED)
ROTATION_REASONS = frozenset({"no_first_sale", "no_repeat_sale", "manager_departed"})


@dataclass
class Seen:
    """What the services have published so far, folded."""

    client_of_lead: dict[str, str] = field(default_factory=dict)
    survivor: dict[str, str] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)
    registered: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)
    rejection_reasons: Counter[str] = field(default_factory=Counter)
    assignments: Counter[str] = field(default_factory=Counter)
    rotations: list[dict[str, Any]] = field(default_factory=list)
    deferrals: Counter[str] = field(default_factory=Counter)
    handovers: int = 0
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    attributed: set[str] = field(default_factory=set)

    def current(self, client_id: str) -> str:
        """The surviving client of a possibly merged one."""
        seen: set[str] = set()
        while client_id in self.survivor and client_id not in seen:
            seen.add(client_id)
            client_id = self.survivor[client_id]
        return client_id

    def live_clients(self) -> set[str]:
        """Registered clients not merged into another."""
        return {c for c in self.registered if c not in self.survivor}

    def outcome_counts(self) -> Counter[str]:
        """Final notification outcomes by status and reason (deferred ones are not final)."""
        return Counter(f"{o['status']}:{o.get('reason') or o.get('provider') or ''}"
                       for o in self.outcomes.values() if o["status"] != "deferred")

    def fold(self, topic: str, body: dict[str, Any]) -> None:
        """Take one published event into account."""
        if topic in (topics.CLIENTS_REGISTERED.name, topics.CLIENTS_UPDATED.name):
            self.client_of_lead[body["lead_event_id"]] = body["client_id"]
            if topic == topics.CLIENTS_REGISTERED.name:
                self.registered.add(body["client_id"])
        elif topic == topics.CLIENTS_MERGED.name:
            self.survivor[body["merged_client_id"]] = body["client_id"]
            if body.get("lead_event_id"):
                self.client_of_lead[body["lead_event_id"]] = body["client_id"]
        elif topic == topics.CLIENTS_ASSIGNED.name:
            self.owner[body["client_id"]] = body["manager_id"]
            self.assignments[body["reason"]] += 1
            if body["reason"] in ROTATION_REASONS:
                self.rotations.append(body)
        elif topic == topics.LEADS_REJECTED.name:
            if body["quarantine_id"] not in self.rejected:  # a lead may carry several reasons, each counted once
                self.rejected.add(body["quarantine_id"])
                self.rejection_reasons.update({r["code"] for r in body.get("reasons", [])})
        elif topic == topics.HANDOVERS_OPENED.name:
            self.handovers += 1
        elif topic == topics.ROTATIONS_DEFERRED.name:
            self.deferrals[body.get("reason") or "?"] += 1
        elif topic == topics.NOTIFICATIONS_OUTCOMES.name:
            self.outcomes[body["request_event_id"]] = body
        elif topic == topics.SALES_ATTRIBUTED.name:
            self.attributed.add(body.get("sale_event_id") or body["event_id"])


class Observer:
    """A group-less consumer of the services' output topics (under a prefix) that folds them into `Seen`."""

    def __init__(self, bootstrap: str, prefix: str = "") -> None:
        self.bootstrap, self.prefix = bootstrap, prefix
        self.seen = Seen()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start reading every watched topic from its beginning."""
        self._consumer = AIOKafkaConsumer(*(self.prefix + t.name for t in WATCHED), bootstrap_servers=self.bootstrap,
                                          group_id=None, auto_offset_reset="earliest", enable_auto_commit=False)
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(self._consumer))

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            for partition, records in batches.items():
                topic = partition.topic.removeprefix(self.prefix)
                for record in records:
                    try:
                        body = json.loads(record.value or b"")
                    except ValueError:
                        continue
                    if isinstance(body, dict):
                        self.seen.fold(topic, body)

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
