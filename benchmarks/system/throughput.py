"""Parts A and B: the bare floor and each service draining a pre-filled backlog, each in a process of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clientbase import topics
from clientbase.stack.stack import StackEndpoints

from benchmarks.intake.floors import bare_floor
from benchmarks.support.drain import drain_service
from benchmarks.support.phases import run_phase as measured
from benchmarks.system import backlogs


QUIET = "ERROR"  # the services' rebalancing warnings would bury the progress lines


@dataclass(frozen=True)
class Sizes:
    """How many events each throughput measurement drains."""

    intake: int
    existing: int
    rotation: int
    notify: int
    metrics: int
    returning: float = 0.2


def measure_throughput(endpoints: StackEndpoints, run: str, sizes: Sizes,
                       step: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """A (bare floor on the form backlog) and B (intake, rotation, notify, metrics); figures by name."""
    bootstrap, mongo_url = endpoints.kafka_bootstrap, endpoints.mongo_url
    prefix = f"bench{run}."
    figures: dict[str, dict[str, Any]] = {}

    def run_phase(*args: Any, **kwargs: Any) -> dict[str, Any]:
        """A measured phase, or why it failed (the next phases still run)."""
        try:
            return measured(*args, **kwargs)
        except RuntimeError as error:
            step(f"failed: {error}")
            return {"error": str(error)}

    def drain(**kwargs: Any) -> dict[str, Any]:
        """One service draining its backlog, measured, its warnings kept out of the progress lines."""
        return run_phase(drain_service, log_level=QUIET, **kwargs)

    step(f"A/B: pre-filling {sizes.existing:,} clients and {sizes.intake:,} form leads")
    asyncio.run(backlogs.intake_backlog(bootstrap, mongo_url, prefix, f"bench_{run}_intake", sizes.intake,
                                        sizes.existing, sizes.returning))
    step(f"A: bare floor draining {sizes.intake:,} form leads")
    figures["floor"] = run_phase(bare_floor, bootstrap=bootstrap, mongo_url=mongo_url,
                                 topic=prefix + topics.LEADS_FORM_SUBMITTED.name, group=f"bench-{run}-bare",
                                 database=f"bench_{run}_bare", count=sizes.intake)
    step(f"B: intake draining {sizes.intake:,} form leads")
    figures["intake"] = drain(service="intake", bootstrap=bootstrap, mongo_url=mongo_url,
                              database=f"bench_{run}_intake", group=f"bench-{run}-intake", count=sizes.intake,
                              topic_prefix=prefix)
    step(f"B: rotation draining {sizes.rotation:,} client registrations")
    group = f"bench-{run}-rotation"
    asyncio.run(backlogs.rotation_backlog(bootstrap, mongo_url, run, f"bench_{run}_rotation", group, sizes.rotation))
    figures["rotation"] = drain(service="rotation", bootstrap=bootstrap, mongo_url=mongo_url,
                                database=f"bench_{run}_rotation", group=group, count=sizes.rotation)
    step(f"B: notify sending {sizes.notify:,} emails over SMTP")
    asyncio.run(backlogs.notify_backlog(bootstrap, mongo_url, prefix, f"bench_{run}_notify", sizes.notify))
    figures["notify"] = drain(service="notify", bootstrap=bootstrap, mongo_url=mongo_url,
                              database=f"bench_{run}_notify", group=f"bench-{run}-notify", count=sizes.notify,
                              topic_prefix=prefix, smtp_host=endpoints.smtp_host, smtp_port=endpoints.smtp_port)
    step(f"B: metrics folding {sizes.metrics:,} registrations and sales")
    asyncio.run(backlogs.metrics_backlog(bootstrap, prefix, run, sizes.metrics))
    figures["metrics"] = drain(service="metrics", bootstrap=bootstrap, mongo_url=mongo_url,
                               database=f"bench_{run}_metrics", group=f"bench-{run}-metrics", count=sizes.metrics,
                               topic_prefix=prefix, api_token="bench")
    return figures
