"""A poison message on the real stack: rotation dead-letters it, the bad data is corrected, `clientbase-dlq replay`
sends it back, its effect is applied once, and a second replay changes nothing."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pytest

from clientbase import topics
from clientbase.dlq import cli
from clientbase.events.inbound import ReassignRequested
from clientbase.settings import KafkaSettings

from rotation.repository import RotationRepository
from rotation_live_kit import AS_OF, Live, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PHONE = "+7 912 345-67-89"


async def dlq(live: Live, *argv: str) -> tuple[int, str]:
    """Run `clientbase-dlq` against the test's broker; returns the exit status and what it printed."""
    out = io.StringIO()
    status = await cli.run(list(argv), KafkaSettings(bootstrap_servers=live.endpoints.kafka_bootstrap), out)
    return status, out.getvalue()


async def test_dead_lettered_request_is_replayed_once_after_the_roster_is_corrected(live: Live) -> None:
    first, second = live.manager("first", live.grade), live.manager("second", live.grade)
    async with live.app():
        for event in (first, second):
            await live.send(topics.MANAGERS_CHANGED, event, key=event.manager_id)

        async def roster() -> bool:
            return await live.db["managers"].count_documents({}) == 2
        await wait_for(roster)
        client = live.registered("client", AS_OF - timedelta(days=10), handled_by="first")
        await live.send(topics.CLIENTS_REGISTERED, client, key=client.client_id)

        async def owned() -> bool:
            return bool(live.mine(topics.CLIENTS_ASSIGNED, client_id=client.client_id, reason="initial"))
        await wait_for(owned)

        # a bad roster import stored a capacity no rule can compare: the request fails until it is corrected
        await live.db["managers"].update_one({"_id": second.manager_id}, {"$set": {"capacity": "many"}})
        request = ReassignRequested(event_id=str(uuid.uuid4()), occurred_at=AS_OF, client_id=client.client_id,
                                    manager_id=second.manager_id, requested_by="head",
                                    reason_text=f"client asked to be called at {PHONE}")
        await live.send(topics.CLIENTS_REASSIGN_REQUESTED, request, key=client.client_id)

        offsets: list[int] = []

        async def dead_lettered() -> bool:
            status, shown = await dlq(live, "show", topics.CLIENTS_REASSIGN_REQUESTED.name, "--limit", "100000")
            offsets[:] = [letter["offset"] for letter in map(json.loads, split_documents(shown))
                          if letter["headers"].get("event_id") == request.event_id]
            return bool(offsets)
        await wait_for(dead_lettered)
        [offset] = offsets
        status, shown = await dlq(live, "show", topics.CLIENTS_REASSIGN_REQUESTED.name, "--offset", str(offset))
        letter = json.loads(shown)
        assert status == 0 and letter["headers"]["x-dlq-error-type"] == "TypeError"
        assert letter["headers"]["x-dlq-origin-topic"] == topics.CLIENTS_REASSIGN_REQUESTED.name
        assert letter["payload"]["client_id"] == client.client_id and "+7 912" not in shown
        assert not live.mine(topics.CLIENTS_ASSIGNED, client_id=client.client_id, reason="manual")
        status, listed = await dlq(live, "list", topics.CLIENTS_REASSIGN_REQUESTED.name)
        assert status == 0 and topics.CLIENTS_REASSIGN_REQUESTED.dlq in listed

        await live.db["managers"].update_one({"_id": second.manager_id}, {"$set": {"capacity": 1000}})
        status, dry = await dlq(live, "replay", topics.CLIENTS_REASSIGN_REQUESTED.dlq, "--offset", str(offset),
                                "--dry-run")
        assert status == 0 and "would replay 1 letter(s)" in dry
        status, replayed = await dlq(live, "replay", topics.CLIENTS_REASSIGN_REQUESTED.dlq, "--offset", str(offset))
        assert status == 0 and "replayed 1 letter(s)" in replayed

        async def moved() -> bool:
            return bool(live.mine(topics.CLIENTS_ASSIGNED, client_id=client.client_id, reason="manual"))
        await wait_for(moved)
        before = {s.manager_id: (s.load, s.balance) for s in await RotationRepository(live.db).standings()}
        assert before == {first.manager_id: (0, -1), second.manager_id: (1, 1)}

        status, again = await dlq(live, "replay", topics.CLIENTS_REASSIGN_REQUESTED.dlq, "--offset", str(offset))
        assert status == 0 and "replayed 0 letter(s)" in again and "1 replayed before and skipped" in again
        # a later request on the same key (so the same partition) shows everything before it was handled
        sentinel = ReassignRequested(event_id=str(uuid.uuid4()), occurred_at=AS_OF, client_id=client.client_id,
                                     manager_id="nobody", requested_by="head")
        await live.send(topics.CLIENTS_REASSIGN_REQUESTED, sentinel, key=client.client_id)

        async def sentinel_refused() -> bool:
            return bool(live.mine(topics.CLIENTS_REASSIGN_REFUSED, request_event_id=sentinel.event_id))
        await wait_for(sentinel_refused)
        assert len(live.mine(topics.CLIENTS_ASSIGNED, client_id=client.client_id, reason="manual")) == 1
        after = {s.manager_id: (s.load, s.balance) for s in await RotationRepository(live.db).standings()}
        assert after == before
        assignments, _ = await RotationRepository(live.db).history(client.client_id)
        assert [a["reason"] for a in assignments] == ["initial", "manual"]


def split_documents(text: str) -> list[str]:
    """The JSON documents `show` printed one after another."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    text = text.strip()
    while position < len(text):
        _, end = decoder.raw_decode(text, position)
        documents.append(text[position:end])
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return documents
