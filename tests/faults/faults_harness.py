"""Runs one fault scenario on a dedicated stack and system: feed, inject the faults, settle, check, tabulate."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from clientbase import topics
from clientbase.stack import LocalStack
from clientbase.system.launcher import http_get
from clientbase.system.observer import Observer
from clientbase.system.player import inputs_of, lagging
from clientbase.system.services import SERVICES
from clientbase.testing.system_run import RunningSystem
from faults_checker import Checker, Verdict
from faults_feed import Feed

SIZE_ENV = "FAULTS_SIZE"
SETTLE_TIMEOUT_S = 240.0
CATCH_UP_TIMEOUT_S = 180.0
FEED_RATE_PER_S = 1.0
DRAIN_ROUNDS = 3


@dataclass(frozen=True)
class Size:
    """How many times each fault is repeated, and how long outages last."""

    name: str
    kills: int
    broker_bounces: int
    broker_down_s: tuple[float, float]
    db_outages: int
    db_down_s: float
    rebalances: int
    slow_delay_ms: int
    slow_feed_s: float


SIZES = {
    "ci": Size("ci", kills=4, broker_bounces=1, broker_down_s=(10, 10), db_outages=1, db_down_s=30, rebalances=1,
               slow_delay_ms=2000, slow_feed_s=12),
    "large": Size("large", kills=24, broker_bounces=4, broker_down_s=(10, 30), db_outages=3, db_down_s=30,
                  rebalances=3, slow_delay_ms=8000, slow_feed_s=45),
}


def chosen_size() -> Size:
    """The size FAULTS_SIZE names (ci unless set)."""
    return SIZES[os.environ.get(SIZE_ENV, "ci").strip().lower() or "ci"]


@dataclass
class Row:
    """One line of the fault table."""

    scenario: str
    repetitions: int
    fed: int
    lost: int
    duplicated: int
    max_recovery_s: float | None
    detail: str = ""


@dataclass
class Harness:
    """A dedicated stack and system the scenarios may break, with an observer of what the services publish."""

    stack: LocalStack
    system: RunningSystem
    observer: Observer
    size: Size
    rows: list[Row] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(14))
    poison_sent: int = 0
    poison_lost: int = 0
    _segments: int = 0

    @property
    def checker(self) -> Checker:
        """The checker of this system's final state."""
        endpoints = self.stack.endpoints
        return Checker(self.system.kafka_bootstrap, self.system.prefix, self.system.mongo_url, self.system.databases,
                       endpoints.mailpit_url, self.system.groups)

    async def run(self, scenario: str, repetitions: int,
                  fault: Callable[[Harness], Awaitable[list[float]]], *, tail_s: float = 3.0) -> tuple[Row, Verdict]:
        """Feed while `fault` runs, then settle, drain the follow-ups, check every effect and add a row."""
        self._segments += 1
        feed = Feed(self.system.kafka_bootstrap, self.system.prefix, f"f{self._segments}{scenario[:4]}",
                    self.observer, rate_per_s=FEED_RATE_PER_S)
        await feed.start()
        try:
            feeding = asyncio.create_task(feed.run(float("inf")))
            try:
                await asyncio.sleep(2.0)
                recoveries = await fault(self)
                await asyncio.sleep(tail_s)
            finally:
                feeding.cancel()
            for _ in range(DRAIN_ROUNDS):
                await feed.drain()
                await self.settle()
        finally:
            await feed.stop()
        verdict = await self.checker.check(feed.expected)
        row = Row(scenario, repetitions, feed.expected.fed, verdict.lost_count, verdict.doubled_count,
                  max(recoveries) if recoveries else None, verdict.describe())
        self.rows.append(row)
        self.poison_sent += len(feed.expected.poison)
        self.poison_lost += sum(len(v) for k, v in verdict.lost.items() if k.startswith("poison"))
        return row, verdict

    async def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Wait until every group has committed every input topic to its end, twice in a row."""
        deadline, quiet = time.monotonic() + timeout_s, 0
        behind: dict[str, list[str]] = {}
        while quiet < 2:
            if time.monotonic() > deadline:
                raise AssertionError(f"not consumed within {timeout_s:.0f} s: {behind}")
            behind = await self._lagging()
            quiet = 0 if behind else quiet + 1
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)  # the observer reads the last published events

    @asynccontextmanager
    async def _clients(self) -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
        """Fresh admin and offset clients (the broker may have restarted since the last ones)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.system.kafka_bootstrap)
        offsets = AIOKafkaConsumer(bootstrap_servers=self.system.kafka_bootstrap, group_id=None)
        await admin.start()
        await offsets.start()
        try:
            yield admin, offsets
        finally:
            await offsets.stop()
            await admin.close()

    async def _lagging(self) -> dict[str, list[str]]:
        async with self._clients() as (admin, offsets):
            return await lagging(admin, offsets, self.system.groups, self.system.prefix)

    async def caught_up(self, services: list[str], since: float) -> float:
        """Seconds from `since` until the services' groups committed what their inputs held now."""
        async with self._clients() as (admin, offsets):
            wanted = {service: [TopicPartition(self.system.prefix + name, p) for name in inputs_of(service)
                                for p in range(topics.topic_named(name).partitions)] for service in services}
            ends = await offsets.end_offsets([tp for tps in wanted.values() for tp in tps])
            deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
            behind: dict[str, dict[str, str]] = {}
            while time.monotonic() < deadline:
                listed = await asyncio.gather(*(admin.list_consumer_group_offsets(self.system.groups[s])
                                                for s in services))
                behind = {service: {f"{tp.topic.removeprefix(self.system.prefix)}[{tp.partition}]":
                                    f"{committed[tp].offset if tp in committed else None}/{ends[tp]}"
                                    for tp in wanted[service]
                                    if ends[tp] > 0 and (tp not in committed or committed[tp].offset < ends[tp])}
                          for service, committed in zip(services, listed, strict=True)}
                if not any(behind.values()):
                    return time.monotonic() - since
                await asyncio.sleep(0.25)
            raise AssertionError(f"{services} did not catch up within {CATCH_UP_TIMEOUT_S:.0f} s; "
                                 f"committed/end still behind: {behind}; {self.describe(services)}")

    def describe(self, services: list[str]) -> str:
        """Whether each service's process runs, and the last lines of its log."""
        lines = []
        for name in services:
            process = self.system.launcher.process(self.system.launcher.spec(name))
            lines.append(f"--- {name} (pid {process.running_pid()}) last log lines:\n{process.log_tail(15)}")
        return "\n".join(lines)

    async def in_thread(self, call: Callable[[], object]) -> None:
        """Run a blocking stack or launcher call without stopping the feed."""
        await asyncio.to_thread(call)

    def ready_statuses(self) -> dict[str, int | None]:
        """Each service's /ready status now."""
        return {spec.name: http_get(self.system.launcher.ready_url(spec), timeout_s=8.0)[0] for spec in SERVICES}


def table(harness: Harness) -> str:
    """The scenarios' rows, and the poison messages of them all, as a Markdown table."""
    rows = [*harness.rows, Row("poison messages, interleaved in every scenario", harness.poison_sent,
                               harness.poison_sent, harness.poison_lost, 0, None)]
    lines = ["| scenario | repetitions | events fed | lost | duplicated | max recovery (s) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        recovery = f"{r.max_recovery_s:.1f}" if r.max_recovery_s is not None else "-"
        lines.append(f"| {r.scenario} | {r.repetitions} | {r.fed} | {r.lost} | {r.duplicated} | {recovery} |")
    return "\n".join(lines)
