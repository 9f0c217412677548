"""Kit for the dashboard browser test: real HTTP servers in-process, a seeded rotation, a headless Chromium."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from playwright.async_api import Browser, async_playwright

from clientbase import topics
from clientbase.stack.ports import free_ports
from clientbase.testing.kafka_io import wait_for

from rotation.cli import run as rotation_command

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MANAGERS = ("Anna Petrova", "Boris Ivanov", "Vera Popescu")
# (cohort, days since registration, owner who answered, clients): A is rotated long ago (handover overdue),
# B recently (handover on time), C is what the next sweep would move.
COHORTS = (("a", 400, 0, 3), ("b", 205, 1, 3), ("c", 185, 2, 4))


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app over real HTTP on a free port until the block ends; yields its base URL."""
    port = free_ports(1)[0]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: asyncio.sleep(0, server.started), timeout_s=60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def client_name(cohort: str, index: int) -> str:
    """The generated name of a seeded client."""
    return f"Client {cohort.upper()}{index} Testov"


async def seed_rotation(live: Any, now: datetime) -> None:
    """Three managers and three cohorts of clients; two sweeps in the past leave overdue and on-time handovers."""
    for name in MANAGERS:
        await live.send(topics.MANAGERS_CHANGED, live.manager(name, live.grade), live.id(name))
    for cohort, days, owner, count in COHORTS:
        for i in range(count):
            event = live.registered(f"{cohort}{i}", now - timedelta(days=days), MANAGERS[owner])
            event = event.model_copy(update={"name": client_name(cohort, i)})
            await live.send(topics.CLIENTS_REGISTERED, event, event.client_id)
    clients = live.db["clients"]
    await wait_for(lambda: _count(clients, {"epoch": 1}, 10), timeout_s=120)
    for days_ago, handovers in ((30, 3), (10, 6)):
        await rotation_command(["sweep", "--as-of", (now - timedelta(days=days_ago)).isoformat()], live.settings)
        await wait_for(lambda n=handovers: _count(live.db["handovers"], {}, n), timeout_s=120)


async def _count(collection: Any, query: dict[str, Any], expected: int) -> bool:
    return await collection.count_documents(query) >= expected


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                   args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            await browser.close()
