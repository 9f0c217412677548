"""The faults: each breaks part of a running system while the feed goes on, and returns its recovery times."""

from __future__ import annotations

import asyncio
import re
import time

from clientbase.stack.ports import free_ports
from clientbase.system.services import SERVICES
from faults_harness import Harness

NAMES = [spec.name for spec in SERVICES]
COMMIT_FAILED = re.compile(r"CommitFailedError")


async def kill_services(h: Harness) -> list[float]:
    """SIGKILL a service at a random moment mid-stream and start it again, cycling through the services."""
    recoveries = []
    for n in range(h.size.kills):
        name = NAMES[n % len(NAMES)] if n < len(NAMES) else h.rng.choice(NAMES)
        await asyncio.sleep(h.rng.uniform(0.5, 4.0))
        assert h.system.launcher.kill(name), f"{name} was not running"
        since = time.monotonic()
        await h.in_thread(lambda name=name: h.system.launcher.start(name))
        recoveries.append(await h.caught_up([name], since))
    return recoveries


async def bounce_broker(h: Harness) -> list[float]:
    """Stop the Kafka broker, cleanly and with SIGKILL in turn, for a while under produce and consume."""
    recoveries = []
    for n in range(h.size.broker_bounces):
        await asyncio.sleep(h.rng.uniform(2.0, 4.0))
        hard = n % 2 == 0
        await h.in_thread(lambda hard=hard: h.stack.stop_server("kafka", kill=hard))
        await asyncio.sleep(h.rng.uniform(*h.size.broker_down_s))
        since = time.monotonic()
        await h.in_thread(lambda: h.stack.start_server("kafka"))
        recoveries.append(await h.caught_up(NAMES, since))
    return recoveries


async def database_outage(h: Harness) -> list[float]:
    """SIGKILL FerretDB for a while: every service says not ready meanwhile, then resumes without loss."""
    recoveries = []
    for _ in range(h.size.db_outages):
        await asyncio.sleep(h.rng.uniform(2.0, 4.0))
        await h.in_thread(lambda: h.stack.stop_server("ferretdb", kill=True))
        began = time.monotonic()
        await asyncio.sleep(5.0)
        statuses = await asyncio.to_thread(h.ready_statuses)
        assert set(statuses.values()) == {503}, f"/ready while the database is down: {statuses}"
        await asyncio.sleep(max(0.0, h.size.db_down_s - (time.monotonic() - began)))
        since = time.monotonic()
        await h.in_thread(lambda: h.stack.start_server("ferretdb"))
        recoveries.append(await h.caught_up(NAMES, since))
        statuses = await asyncio.to_thread(h.ready_statuses)
        assert set(statuses.values()) == {200}, f"/ready once the database is back: {statuses}"
    return recoveries


async def rebalance(h: Harness) -> list[float]:
    """Start a second replica of every service mid-stream, let the groups rebalance, then stop the replicas."""
    recoveries = []
    for _ in range(h.size.rebalances):
        ports = free_ports(len(NAMES))
        await asyncio.gather(*(h.in_thread(lambda name=name, port=port: h.system.launcher.start(
            name, replica_port=port)) for name, port in zip(NAMES, ports, strict=True)))
        await asyncio.sleep(h.rng.uniform(3.0, 6.0))
        since = time.monotonic()
        await asyncio.gather(*(h.in_thread(lambda name=name: h.system.launcher.stop(name, replica=True))
                               for name in NAMES))
        recoveries.append(await h.caught_up(NAMES, since))
    return recoveries


async def slow_handlers(h: Harness) -> list[float]:
    """Restart every service with a delay before each batch and feed on: once the groups have formed, no commit
    may fail (a member evicted for slowness would fail its commits and see its batches again and again)."""
    await restart_all(h, {"CLIENTBASE_FAULT_HANDLER_DELAY_MS": str(h.size.slow_delay_ms)})
    await h.caught_up(NAMES, time.monotonic())  # the groups have formed and consumed what the restart left
    offsets = {name: h.system.launcher.process(h.system.launcher.spec(name)).log_size() for name in NAMES}
    await asyncio.sleep(h.size.slow_feed_s)
    since = time.monotonic()
    recovery = await h.caught_up(NAMES, since)
    logs = {name: h.system.launcher.process(h.system.launcher.spec(name)).log_since(offsets[name]) for name in NAMES}
    await restart_all(h, {})
    failed = {name: len(COMMIT_FAILED.findall(text)) for name, text in logs.items()}
    assert not any(failed.values()), f"commit failures with slow handlers: {failed}"
    return [recovery]


async def restart_all(h: Harness, env: dict[str, str]) -> None:
    """Stop every service cleanly and start it again with `env` over the system's environment, all at once."""
    await asyncio.gather(*(h.in_thread(lambda name=name: h.system.launcher.stop(name)) for name in NAMES))
    await asyncio.gather(*(h.in_thread(lambda name=name: h.system.launcher.start(name, env=env)) for name in NAMES))
