"""The demo of `make run`: the scripted company's history played against the running system, shown live."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import date

from rich.console import Console

from clientbase.stack.stack import StackEndpoints
from clientbase.system.launcher import SystemLauncher
from clientbase.system.player import Player
from clientbase.system.secrets import local_secrets
from clientbase.system.story import build_story

GROUP_DEFAULTS = {"intake": "intake", "rotation": "rotation", "notify": "notify", "metrics": "metrics"}


def service_groups() -> dict[str, str]:
    """Each service's consumer group, as the services read it from their environment."""
    return {name: os.environ.get(f"{name.upper()}_GROUP_ID") or default for name, default in GROUP_DEFAULTS.items()}


def figures_reader(launcher: SystemLauncher, start: date) -> Callable[[], Awaitable[str]]:
    """A reader of the latest month's figures from the metrics read API, as one line for the summary."""
    metrics = next(spec for spec in launcher.services if spec.name == "metrics")
    token = local_secrets(launcher.config.state_dir)["METRICS_API_TOKEN"]

    def fetch() -> str:
        url = (f"http://127.0.0.1:{metrics.port}/metrics/retention?period=month"
               f"&from={start.isoformat()}&to=2027-01-01")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                items = [i for i in json.loads(response.read())["items"] if i.get("orders")]
        except (OSError, ValueError, KeyError) as error:
            return f"metrics API not answering: {error}"
        if not items:
            return "no purchases counted yet"
        last = items[-1]
        return (f"{last['period_start'][:7]}: orders {last['orders']}, revenue {last['revenue']}, new customers "
                f"{last['new_customers']}, CRR {last['crr']} %, churn {last['churn_rate']} %")

    async def read() -> str:
        return await asyncio.to_thread(fetch)

    return read


def play_demo(endpoints: StackEndpoints, launcher: SystemLauncher, *, persons: int, day_seconds: float) -> None:
    """Play the demo company's history against the services launched by `launcher`, with a live summary."""
    story = build_story(persons=persons, marketing_months=(3, 6, 8))
    console = Console()
    console.print(f"playing {len(story.days)} simulated days of a company: {len(story.persons)} leads, "
                  f"{len(story.managers)} managers in RU, BG and RO, sales, a manager leaving, monthly sweeps")
    player = Player(story, endpoints.kafka_bootstrap, groups=service_groups(),
                    rotation_env=launcher.environment(endpoints), day_seconds=day_seconds, console=console,
                    figures=figures_reader(launcher, story.days[0].day.replace(day=1)))
    asyncio.run(player.play())
