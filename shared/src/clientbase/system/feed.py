"""Publishes a small demo feed (the roster, web forms and calls) so the running system has work to show."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiokafka import AIOKafkaProducer

from clientbase import topics

FEED_FILES: tuple[tuple[str, str], ...] = (
    ("managers.jsonl", topics.MANAGERS_CHANGED.name),
    ("forms.jsonl", topics.LEADS_FORM_SUBMITTED.name),
    ("calls.jsonl", topics.LEADS_CALL_RECEIVED.name),
)


def message_key(line: bytes) -> bytes | None:
    """Key a roster line by manager id and leave leads to the default partitioner."""
    try:
        payload = json.loads(line)
    except ValueError:
        return None
    return str(payload["manager_id"]).encode() if isinstance(payload, dict) and "manager_id" in payload else None


async def publish_feed(bootstrap_servers: str, samples_dir: Path, prefix: str = "") -> dict[str, int]:
    """Send every line of the sample files, as raw bytes, to its inbound topic (under `prefix`); return counts per topic."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    counts: dict[str, int] = {}
    try:
        for file_name, topic in FEED_FILES:
            path = samples_dir / file_name
            if not path.exists():
                continue
            for line in path.read_bytes().splitlines():
                if line.strip():
                    await producer.send_and_wait(prefix + topic, line, key=message_key(line))
                    counts[topic] = counts.get(topic, 0) + 1
    finally:
        await producer.stop()
    return counts


def feed(bootstrap_servers: str, samples_dir: Path) -> dict[str, int]:
    """Blocking wrapper of `publish_feed` for the command line."""
    return asyncio.run(publish_feed(bootstrap_servers, samples_dir))
