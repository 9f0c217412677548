"""Benchmark (not a test): lag from an event produced to the figure visible in the metrics read API.

Run:  uv run --no-sync python -m benchmarks.metrics.lag --bootstrap 127.0.0.1:9092 --mongo-url mongodb://127.0.0.1:27017/

Starts the metrics service as its own process (uvicorn under FastStream's CLI) on isolated topics and a
throwaway database, loads a background history of clients and sales, then produces one `sales.attributed`
order at a time and polls `GET /metrics/retention` over HTTP until the year's order count shows it.
Prints p50/p99 (and max) of the lag in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from clientbase import topics
from clientbase.events.outbound import ClientRegistered, LeadSource, SaleAttributed
from clientbase.stack.topics import create_registry_topics

from benchmarks.support.usage import Usage, usage_of
from benchmarks.support.secrets import use_throwaway_secrets

TOKEN = "lag-benchmark"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sale(client: str, at: datetime, order: str) -> SaleAttributed:
    """One attributed order."""
    return SaleAttributed.create(source="bench", correlation_id=order, occurred_at=at, client_id=client,
                                 sale_event_id=order, order_id=order, kind="order", amount=Decimal("100.00"),
                                 currency="RUB", sold_at=at)


async def send(producer: AIOKafkaProducer, prefix: str, topic: topics.Topic, event: Any, key: str) -> None:
    """Publish one event and wait for the broker's acknowledgement."""
    await producer.send_and_wait(prefix + topic.name, event.model_dump_json().encode(), key=key.encode(),
                                 headers=[("event_id", event.event_id.encode())])


async def orders_this_year(client: httpx.AsyncClient, year: int) -> int:
    """The year's order count as the API shows it."""
    response = await client.get("/metrics/retention", params={"period": "year", "from": f"{year}-01-01",
                                                              "to": f"{year + 1}-01-01"})
    response.raise_for_status()
    return int(response.json()["items"][0]["orders"])


async def measure(args: argparse.Namespace, prefix: str, port: int) -> list[float]:
    """Load the background history, then time each sample from produce to visible."""
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all")
    await producer.start()
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as http:
        try:
            for i in range(args.clients):
                client_id = f"bench-{i}"
                at = now - timedelta(days=700 - i % 690)
                await producer.send(prefix + topics.CLIENTS_REGISTERED.name, ClientRegistered.create(
                    source="bench", correlation_id=client_id, occurred_at=at, client_id=client_id, kind="person",
                    lead_source=LeadSource(channel="form", form_id="bench"), lead_event_id=client_id,
                ).model_dump_json().encode(), key=client_id.encode())
                for n in range(3):
                    event = sale(client_id, at + timedelta(days=30 * n + 1), f"bg-{i}-{n}")
                    await producer.send(prefix + topics.SALES_ATTRIBUTED.name, event.model_dump_json().encode(),
                                        key=client_id.encode())
            await producer.flush()
            while True:
                try:
                    base = await orders_this_year(http, now.year)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)
            await asyncio.sleep(args.settle_s)
            base = await orders_this_year(http, now.year)
            lags = []
            for sample in range(args.samples):
                client_id = f"bench-{sample % args.clients}"
                started = time.perf_counter()
                await send(producer, prefix, topics.SALES_ATTRIBUTED, sale(client_id, datetime.now(UTC),
                                                                           f"lag-{uuid.uuid4()}"), client_id)
                while await orders_this_year(http, now.year) < base + sample + 1:
                    await asyncio.sleep(args.poll_s)
                lags.append((time.perf_counter() - started) * 1000)
            return lags
        finally:
            await producer.stop()


def lag_samples(bootstrap: str, mongo_url: str, clients: int, samples: int, poll_s: float, settle_s: float,
                quiet: bool = False) -> tuple[list[float], Usage]:
    """Start a metrics process on isolated topics, time `samples` sales; (sorted lags in ms, the process's usage)."""
    args = argparse.Namespace(bootstrap=bootstrap, clients=clients, samples=samples, poll_s=poll_s, settle_s=settle_s)
    suffix = uuid.uuid4().hex[:8]
    prefix, database, port = f"bench{suffix}.", f"bench_metrics_{suffix}", free_port()
    create_registry_topics(bootstrap, prefix)  # every topic metrics reads or writes, its segments included
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "MONGO_URL": mongo_url,
           "METRICS_TOPIC_PREFIX": prefix, "METRICS_DATABASE": database, "METRICS_GROUP_ID": f"bench-{suffix}",
           "METRICS_API_TOKEN": TOKEN, "LOG_LEVEL": "WARNING"}
    service = subprocess.Popen([sys.executable, "-m", "faststream", "run", "metrics.app:create_app", "--factory",
                                "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL if quiet else None)
    try:
        lags = sorted(asyncio.run(measure(args, prefix, port)))
        return lags, usage_of(service.pid)
    finally:
        service.terminate()
        service.wait(timeout=30)
        asyncio.run(drop(mongo_url, database))


def main() -> int:
    """Run the benchmark and print the lag percentiles."""
    use_throwaway_secrets()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--mongo-url", default=os.environ.get("MONGO_URL", "mongodb://127.0.0.1:27017/"))
    parser.add_argument("--clients", type=int, default=300, help="background clients (3 sales each)")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--poll-s", type=float, default=0.01, help="pause between two API polls")
    parser.add_argument("--settle-s", type=float, default=5.0, help="pause after loading the background history")
    args = parser.parse_args()
    lags, _ = lag_samples(args.bootstrap, args.mongo_url, args.clients, args.samples, args.poll_s, args.settle_s)
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    print(f"metrics lag (event produced -> figure visible in GET /metrics/retention), {len(lags)} samples, "
          f"{args.clients} background clients: p50 {statistics.median(lags):.0f} ms, p99 {p99:.0f} ms, "
          f"max {lags[-1]:.0f} ms")
    return 0


async def drop(mongo_url: str, database: str) -> None:
    """Drop the throwaway database."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    await client.drop_database(database)
    await client.close()


if __name__ == "__main__":
    sys.exit(main())
