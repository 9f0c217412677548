"""Reads the final state from outside (topics, MongoDB, Mailpit) and counts lost and doubled effects of a feed.

Duplicates are counted by effect, not by Kafka record: a redelivered record republishes the same event id
and is no duplicate; two different events for one cause are. The effects: one client per person, one first
assignment per client, one attributed sale and one metrics sale fact per order, one final outcome per
notification request and at most one e-mail per request, one metrics fact per activity and roster change,
and every poison message in its DLQ, with the origin headers, for each consumer group that reads it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from clientbase import topics
from metrics.repository import POINTER, POINTER_ID
from faults_feed import Expected

OUTPUTS = (topics.CLIENTS_REGISTERED, topics.CLIENTS_MERGED, topics.CLIENTS_ASSIGNED, topics.SALES_ATTRIBUTED,
           topics.NOTIFICATIONS_OUTCOMES)
POISON_READERS = ("rotation", "metrics")


@dataclass
class Verdict:
    """Lost and doubled effects, each with a few examples."""

    lost: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    doubled: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def lose(self, effect: str, what: str) -> None:
        """Count a missing effect."""
        self.lost[effect].append(what)

    def double(self, effect: str, what: str) -> None:
        """Count an effect that happened more than once."""
        self.doubled[effect].append(what)

    @property
    def lost_count(self) -> int:
        """Missing effects in all."""
        return sum(map(len, self.lost.values()))

    @property
    def doubled_count(self) -> int:
        """Doubled effects in all."""
        return sum(map(len, self.doubled.values()))

    def describe(self) -> str:
        """A short account of what went wrong."""
        parts = [f"lost {k}: {len(v)} e.g. {v[:3]}" for k, v in self.lost.items() if v]
        parts += [f"doubled {k}: {len(v)} e.g. {v[:3]}" for k, v in self.doubled.items() if v]
        return "; ".join(parts) or "exactly once"


async def read_topic(bootstrap: str, name: str) -> list[ConsumerRecord[Any, Any]]:
    """Every record of a topic from its start to its current end, without a consumer group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([name])
    finally:
        await admin.close()
    partitions = [TopicPartition(name, p["partition"]) for p in described.get("partitions", [])]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


def bodies(records: list[ConsumerRecord[Any, Any]]) -> dict[str, dict[str, Any]]:
    """The records' JSON bodies by event id: a redelivered record with the same id counts once."""
    return {body["event_id"]: body for r in records if isinstance(body := json.loads(r.value), dict)}


class Checker:
    """Compares what a system did with what its feeds expected."""

    def __init__(self, bootstrap: str, prefix: str, mongo_url: str, databases: dict[str, str], mailpit_url: str,
                 groups: dict[str, str]) -> None:
        self.bootstrap, self.prefix, self.mongo_url = bootstrap, prefix, mongo_url
        self.databases, self.mailpit_url, self.groups = databases, mailpit_url.rstrip("/"), groups

    async def check(self, expected: Expected) -> Verdict:
        """Count lost and doubled effects of one feed."""
        verdict = Verdict()
        out = {t.name: bodies(await read_topic(self.bootstrap, self.prefix + t.name)) for t in OUTPUTS}
        clients = self._clients(expected, out, verdict)
        self._assignments(clients, out, verdict)
        self._sales(expected, out, verdict)
        self._outcomes(expected, out, verdict)
        await self._facts(expected, verdict)
        await self._mail(expected, out, verdict)
        await self._dead_letters(expected, verdict)
        return verdict

    def _clients(self, expected: Expected, out: dict[str, dict[str, Any]], verdict: Verdict) -> set[str]:
        person_of = expected.person_of_lead()
        made: dict[str, set[str]] = defaultdict(set)
        for event in out[topics.CLIENTS_REGISTERED.name].values():
            if (person := person_of.get(event["lead_event_id"])) is not None:
                made[person].add(event["client_id"])
        for person in expected.leads_of:
            if not made.get(person):
                verdict.lose("client per person", person)
            elif len(made[person]) > 1:
                verdict.double("client per person", person)
        merged = {e["merged_client_id"] for e in out[topics.CLIENTS_MERGED.name].values()}
        ours = {c for cs in made.values() for c in cs}
        for client in ours & merged:
            verdict.double("client per person (merged)", client)
        return ours

    def _assignments(self, clients: set[str], out: dict[str, dict[str, Any]], verdict: Verdict) -> None:
        first: dict[str, list[str]] = defaultdict(list)
        for event in out[topics.CLIENTS_ASSIGNED.name].values():
            if event["client_id"] in clients and event.get("previous_manager_id") is None:
                first[event["client_id"]].append(event["event_id"])
        for client in clients:
            if not first.get(client):
                verdict.lose("assignment per client", client)
            elif len(first[client]) > 1:
                verdict.double("assignment per client", client)

    def _sales(self, expected: Expected, out: dict[str, dict[str, Any]], verdict: Verdict) -> None:
        attributed: dict[str, int] = defaultdict(int)
        for event in out[topics.SALES_ATTRIBUTED.name].values():
            attributed[event["order_id"]] += 1
        for order in expected.orders:
            self._once(verdict, "attributed sale per order", order, attributed.get(order, 0))

    def _outcomes(self, expected: Expected, out: dict[str, dict[str, Any]], verdict: Verdict) -> None:
        final: dict[str, int] = defaultdict(int)
        for event in out[topics.NOTIFICATIONS_OUTCOMES.name].values():
            if event["status"] != "deferred":
                final[event["request_event_id"]] += 1
        for request in expected.requests:
            self._once(verdict, "final outcome per request", request, final.get(request, 0))
        for request, count in final.items():
            if request not in expected.requests and count > 1:
                verdict.double("final outcome per request (internal)", request)

    async def _facts(self, expected: Expected, verdict: Verdict) -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.mongo_url, serverSelectionTimeoutMS=20_000)
        try:
            db = client[self.databases["metrics"]]
            pointer = await db[POINTER].find_one({"_id": POINTER_ID}) or {"active": 1}
            generation = pointer.get("active", 1)
            sales: dict[str, int] = defaultdict(int)
            async for fact in db[f"g{generation}_sales"].find({"kind": "order"}, {"order_id": 1}):
                sales[fact["order_id"]] += 1
            for order in expected.orders:
                self._once(verdict, "metrics sale per order", order, sales.get(order, 0))
            for name, wanted in (("activities", expected.activities), ("roster", expected.roster_changes)):
                found = {f["_id"] for f in await db[f"g{generation}_{name}"].find(
                    {"_id": {"$in": sorted(wanted)}}, {"_id": 1}).to_list()}
                for event_id in sorted(wanted - found):
                    verdict.lose(f"metrics {name} fact", event_id)
        finally:
            await client.close()

    async def _mail(self, expected: Expected, out: dict[str, dict[str, Any]], verdict: Verdict) -> None:
        # A send cut short by a crash is reported `sent`, reason `unconfirmed`, and never retried (at most once):
        # its e-mail may be missing; a confirmed send's may not.
        sent = {e["request_event_id"] for e in out[topics.NOTIFICATIONS_OUTCOMES.name].values()
                if e["status"] == "sent" and e.get("reason") != "unconfirmed"}
        async with httpx.AsyncClient(timeout=20) as http:
            for request, order in expected.requests.items():
                found = (await http.get(f"{self.mailpit_url}/api/v1/search",
                                        params={"query": f'subject:"{order}"'})).json()["messages_count"]
                if found > 1:
                    verdict.double("e-mail per request", request)
                elif request in sent and found == 0:
                    verdict.lose("e-mail per request", request)

    async def _dead_letters(self, expected: Expected, verdict: Verdict) -> None:
        letters = await read_topic(self.bootstrap, self.prefix + topics.ACTIVITIES_RECORDED.dlq)
        found: set[tuple[str, str]] = set()
        for record in letters:
            headers = {k: v.decode() for k, v in record.headers or ()}
            body = json.loads(record.value)
            if headers.get("x-dlq-origin-topic") == self.prefix + topics.ACTIVITIES_RECORDED.name:
                found.add((body.get("event_id"), headers.get("x-dlq-consumer-group", "")))
        for event_id in expected.poison:
            for service in POISON_READERS:
                if (event_id, self.groups[service]) not in found:
                    verdict.lose(f"poison in the DLQ ({service})", event_id)

    @staticmethod
    def _once(verdict: Verdict, effect: str, what: str, count: int) -> None:
        if count == 0:
            verdict.lose(effect, what)
        elif count > 1:
            verdict.double(effect, what)
