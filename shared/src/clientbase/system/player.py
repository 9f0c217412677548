"""Plays a scripted story against a running system at the edges, with a fast clock and a live summary.

Each simulated day's events are published, then what needs a client id (activities by the owner,
notification requests) is resolved from what the services published. At each month's end the player
waits until every service has consumed everything, runs rotation's sweep and overdue escalation as of
that date (rotation's own command line), waits again, and lets new owners report on some handovers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clientbase import topics
from clientbase.system.observer import Observer, Seen
from clientbase.system.story import NAMESPACE, Day, Edge, Intent, Story

SETTLE_TIMEOUT_S = 180.0

log = logging.getLogger("clientbase.system")


class NotSettled(AssertionError):
    """The services did not consume everything in time; the message says which group lags where."""


@dataclass
class Played:
    """What the player did, for the summary and for checks."""

    published: int = 0
    intents_sent: dict[str, int] = field(default_factory=dict)
    intents_unresolved: int = 0
    sweeps: int = 0
    reports: int = 0
    notification_requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    activity_ids: list[str] = field(default_factory=list)


def inputs_of(service: str) -> list[str]:
    """The registry topics a service consumes."""
    return [t.name for t in topics.TOPICS if service in t.consumers]


async def lagging(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, groups: dict[str, str],
                  prefix: str) -> dict[str, list[str]]:
    """Per service, the input topics its group has not committed to the end of (one request per group, one for
    every end offset)."""
    partitions = {name: [TopicPartition(prefix + name, p) for p in range(topics.topic_named(name).partitions)]
                  for service in groups for name in inputs_of(service)}
    ends = await consumer.end_offsets([tp for tps in partitions.values() for tp in tps])
    offsets = await asyncio.gather(*(admin.list_consumer_group_offsets(group) for group in groups.values()))
    behind: dict[str, list[str]] = {}
    for service, listed in zip(groups, offsets, strict=True):
        committed = {tp: meta.offset for tp, meta in listed.items()}
        for name in inputs_of(service):
            if any(committed.get(tp, -1) < ends[tp] for tp in partitions[name] if ends[tp] > 0):
                behind.setdefault(service, []).append(name)
    return behind


class Player:
    """Publishes a story's events and intents and runs its sweeps against services under `prefix`."""

    def __init__(self, story: Story, bootstrap: str, *, prefix: str = "", groups: dict[str, str],
                 rotation_env: dict[str, str], day_seconds: float = 0.0, console: Console | None = None,
                 figures: Callable[[], Awaitable[str]] | None = None) -> None:
        self.story, self.bootstrap, self.prefix, self.groups = story, bootstrap, prefix, groups
        self.rotation_env, self.day_seconds, self.console, self.figures = rotation_env, day_seconds, console, figures
        self.observer = Observer(bootstrap, prefix)
        self.played = Played()
        self.leads_of: dict[str, list[str]] = {}
        self._reported: set[str] = set()
        self._unsettled: set[str] = set()
        self._producer: AIOKafkaProducer | None = None
        self._figures_line = ""

    @property
    def seen(self) -> Seen:
        """What the services have published so far."""
        return self.observer.seen

    def client_of(self, person: str) -> str | None:
        """The live client a person became, once the services said so."""
        for lead in self.leads_of.get(person, []):
            if (client := self.seen.client_of_lead.get(lead)) is not None:
                return self.seen.current(client)
        return None

    async def play(self) -> Played:
        """Play the whole story; returns what was done."""
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True)
        await self._producer.start()
        await self.observer.start()
        try:
            await self._send([Edge(topics.MANAGERS_CHANGED.name, json.dumps(m, ensure_ascii=False).encode(),
                                   m["manager_id"].encode(), "roster") for m in self.story.managers])
            with self._display() as update:
                for number, day in enumerate(self.story.days, start=1):
                    await self._day(day)
                    if day.sweep_as_of is not None:
                        await self._close_month(day.sweep_as_of)
                    update(number, day)
                    if self.day_seconds:
                        await asyncio.sleep(self.day_seconds)
                await self.settle()
                update(len(self.story.days), self.story.days[-1])
        finally:
            await self.observer.stop()
            await self._producer.stop()
        return self.played

    async def _send(self, edges: list[Edge]) -> None:
        """Publish edges in order, acks awaited together."""
        assert self._producer is not None
        futures = [await self._producer.send(self.prefix + e.topic, e.value, key=e.key) for e in edges]
        await asyncio.gather(*futures)
        self.played.published += len(edges)

    async def _day(self, day: Day) -> None:
        """Publish a day's events, then its intents that can be resolved."""
        if any(edge.person in self._unsettled for edge in day.edges):
            await self.settle()  # a person's next lead meets what the services made of the previous one
        for edge in day.edges:
            if edge.person and edge.event_id:
                self.leads_of.setdefault(edge.person, []).append(edge.event_id)
                self._unsettled.add(edge.person)
        await self._send(day.edges)
        if any(intent.person in self._unsettled for intent in day.intents):
            await self.settle()  # a CRM acts on what the services made of the person's leads, merges included
        resolved = [edge for intent in day.intents if (edge := self._resolve(day, intent)) is not None]
        await self._send(resolved)

    def _intent_id(self, *parts: object) -> str:
        """A deterministic event id for something the player asks, so a replayed story dedupes."""
        return str(uuid.uuid5(NAMESPACE, ":".join(map(str, (self.story.seed, *parts)))))

    def _resolve(self, day: Day, intent: Intent) -> Edge | None:
        """The event an intent becomes once its client (and for an activity, its owner) is known."""
        client = self.client_of(intent.person)
        owner = self.seen.owner.get(client) if client else None
        if client is None or (intent.kind == "activity" and owner is None):
            self.played.intents_unresolved += 1
            return None
        person = self.story.persons[intent.person]
        at = datetime.combine(day.day, datetime.min.time(), tzinfo=person.country.zone) + timedelta(hours=15)
        event_id = self._intent_id(day.day, intent.person, intent.kind, json.dumps(intent.details, sort_keys=True))
        self.played.intents_sent[intent.kind] = self.played.intents_sent.get(intent.kind, 0) + 1
        if intent.kind == "activity":
            body = {"event_id": event_id, "occurred_at": at.isoformat(), "client_id": client, "manager_id": owner,
                    "kind": intent.details["kind"], "summary": "follow-up"}
            self.played.activity_ids.append(event_id)
            return Edge(topics.ACTIVITIES_RECORDED.name, json.dumps(body).encode(), client.encode(), "activity")
        body = {"event_id": event_id, "occurred_at": at.isoformat(), "client_id": client, **intent.details}
        self.played.notification_requests[event_id] = {"person": intent.person, **intent.details}
        return Edge(topics.NOTIFICATIONS_REQUESTED.name, json.dumps(body, ensure_ascii=False).encode(),
                    client.encode(), "notification")

    async def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Wait until every service's group has consumed every input topic to its end, twice in a row."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        offsets = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        await admin.start()
        await offsets.start()
        try:
            loop = asyncio.get_running_loop()
            deadline, quiet, behind = loop.time() + timeout_s, 0, {}
            while quiet < 2:
                if loop.time() > deadline:
                    raise NotSettled(f"not consumed within {timeout_s:.0f} s: {behind}")
                behind = await lagging(admin, offsets, self.groups, self.prefix)
                log.debug("settling: %s", behind or "all consumed")
                quiet = 0 if behind else quiet + 1
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.3)  # the observer reads what the last batches published
            self._unsettled.clear()
        finally:
            await offsets.stop()
            await admin.close()

    async def _rotation(self, *argv: str) -> None:
        """Run one rotation command line as of a simulated date, with the rotation service's environment."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "rotation.cli", *argv, env={**os.environ, **self.rotation_env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"rotation {' '.join(argv)} failed: {output.decode(errors='replace')[-2000:]}")

    async def _close_month(self, as_of: datetime) -> None:
        """Settle, sweep and escalate as of the month's end, settle, then let new owners report on handovers."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        await self.settle()
        settled = loop.time()
        await self._rotation("sweep", "--as-of", as_of.isoformat())  # escalates overdue handovers too
        swept = loop.time()
        self.played.sweeps += 1
        await self.settle()
        log.debug("month closed as of %s: settled in %.1f s, swept in %.1f s, settled again in %.1f s",
                 as_of.date(), settled - began, swept - settled, loop.time() - swept)
        reports = []
        for rotation in self.seen.rotations:
            client = rotation["client_id"]
            if client in self._reported:
                continue
            self._reported.add(client)
            if int(uuid.uuid5(NAMESPACE, client).int) % 3 == 0:  # a third of new owners never report
                continue
            body = {"event_id": self._intent_id("report", client, rotation["event_id"]),
                    "occurred_at": (as_of + timedelta(days=2)).isoformat(), "client_id": client,
                    "manager_id": rotation["manager_id"], "kind": "handover_report", "summary": "took over"}
            reports.append(Edge(topics.ACTIVITIES_RECORDED.name, json.dumps(body).encode(), client.encode(), "report"))
        await self._send(reports)
        self.played.reports += len(reports)
        if self.figures is not None:
            self._figures_line = await self.figures()

    def _display(self) -> AbstractContextManager[Callable[[int, Day], None]]:
        """A live progress bar and summary table when a console is given, else nothing."""
        if self.console is None:
            return nullcontext(lambda number, day: None)
        progress = Progress(TextColumn("simulated days"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=self.console)
        task = progress.add_task("days", total=len(self.story.days))
        live = Live(Group(progress, self._table(None)), console=self.console, refresh_per_second=4)

        def update(number: int, day: Day) -> None:
            progress.update(task, completed=number)
            live.update(Group(progress, self._table(day)))

        class _Showing:
            def __enter__(self) -> Callable[[int, Day], None]:
                live.__enter__()
                return update

            def __exit__(self, *exc: object) -> None:
                live.__exit__(*exc)  # type: ignore[arg-type]

        return _Showing()

    def _table(self, day: Day | None) -> Table:
        """The live summary: what was fed and what the services made of it."""
        seen, played = self.seen, self.played
        table = Table(title=f"ClientBase demo — {day.day.isoformat() if day else 'starting'}", show_header=False)
        table.add_column("what", style="bold")
        table.add_column("count")
        rotations = sum(n for reason, n in seen.assignments.items() if reason != "initial")
        rows = [
            ("events published", played.published),
            ("clients (registered − merged)", f"{len(seen.live_clients())} ({len(seen.registered)} − {len(seen.survivor)})"),
            ("leads rejected and kept", f"{len(seen.rejected)}, with reasons {dict(seen.rejection_reasons)} "
                                        "(a lead may have several)"),
            ("sales attributed", len(seen.attributed)),
            ("owners assigned on first contact", seen.assignments.get("initial", 0)),
            ("rotations (by reason)", f"{rotations} {dict((r, n) for r, n in seen.assignments.items() if r != 'initial')}"),
            ("handovers opened / reported", f"{seen.handovers} / {played.reports}"),
            ("deferrals", dict(seen.deferrals)),
            ("sweeps run", played.sweeps),
            ("messages (final outcomes)", dict(seen.outcome_counts())),
            ("figures", self._figures_line or "—"),
        ]
        for name, value in rows:
            table.add_row(name, str(value))
        return table
