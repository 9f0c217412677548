"""Manual reassignment and the ownership API on the real broker and server: a head of sales moves a client by hand,
a move to a departed manager is refused with its reason, and the owner and history answer over HTTP."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from clientbase import topics
from clientbase.events.inbound import ReassignRequested

from rotation.repository import RotationRepository
from rotation_live_kit import AS_OF, Live, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

TOKEN = "ownership-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_head_moves_a_client_by_hand_and_a_move_to_a_departed_manager_is_refused(live: Live) -> None:
    live.settings = live.settings.model_copy(update={"api_token": SecretStr(TOKEN)})
    head = live.manager("head", live.grade, is_head=True, capacity=0)
    first, senior = live.manager("first", live.grade), live.manager("senior", live.grade + 1)
    gone = live.manager("gone", live.grade, status="departed")
    async with live.app() as app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                    base_url="http://rotation") as http:
        for event in (head, first, senior, gone):
            await live.send(topics.MANAGERS_CHANGED, event, key=event.manager_id)

        async def roster() -> bool:
            return await live.db["managers"].count_documents({}) == 4
        await wait_for(roster)
        client = live.registered("client", AS_OF - timedelta(days=10), handled_by="first")
        await live.send(topics.CLIENTS_REGISTERED, client, key=client.client_id)

        async def owned() -> bool:
            return bool(live.mine(topics.CLIENTS_ASSIGNED, client_id=client.client_id, reason="initial"))
        await wait_for(owned)

        moved = await http.post(f"/clients/{client.client_id}/reassign", headers=AUTH, json={
            "manager_id": senior.manager_id, "requested_by": head.manager_id, "reason_text": "asks for a senior, call +7 912 345-67-89"})
        assert moved.status_code == 202, moved.text

        async def manual() -> bool:
            return bool(live.mine(topics.CLIENTS_ASSIGNED, client_id=client.client_id, reason="manual"))
        await wait_for(manual)
        [event] = live.mine(topics.CLIENTS_ASSIGNED, client_id=client.client_id, reason="manual")
        assert (event["manager_id"], event["previous_manager_id"]) == (senior.manager_id, first.manager_id)
        assert event["decision"]["grade_override"] is True and event["decision"]["requested_by_head"] is True
        assert event["causation_id"] == moved.json()["event_id"]

        async def handover() -> bool:
            return bool(live.mine(topics.HANDOVERS_OPENED, client_id=client.client_id, manager_id=senior.manager_id))
        await wait_for(handover)

        refused_request = ReassignRequested(
            event_id=str(uuid.uuid4()), occurred_at=AS_OF, client_id=client.client_id, manager_id=gone.manager_id,
            requested_by=head.manager_id)
        await live.send(topics.CLIENTS_REASSIGN_REQUESTED, refused_request, key=client.client_id)

        async def refused() -> bool:
            return bool(live.mine(topics.CLIENTS_REASSIGN_REFUSED, request_event_id=refused_request.event_id))
        await wait_for(refused)
        [refusal] = live.mine(topics.CLIENTS_REASSIGN_REFUSED, request_event_id=refused_request.event_id)
        assert (refusal["reason"], refusal["current_manager_id"]) == ("manager_departed", senior.manager_id)

        owner = (await http.get(f"/clients/{client.client_id}/owner", headers=AUTH)).json()
        assert (owner["manager_id"], owner["reason"], owner["previous_manager_id"]) == (
            senior.manager_id, "manual", first.manager_id)
        assert owner["open_handover"]["manager_id"] == senior.manager_id and owner["open_handover"]["deadline"]
        history = (await http.get(f"/clients/{client.client_id}/history", headers=AUTH)).json()
        assert [a["reason"] for a in history["assignments"]] == ["initial", "manual"]
        assert history["assignments"][1]["decision"]["reason_text"] == "asks for a senior, call +79*******89"

        standings = {s.manager_id: s for s in await RotationRepository(live.db).standings()}
        assert (standings[senior.manager_id].balance, standings[first.manager_id].balance) == (1, -1)
        assert (standings[senior.manager_id].load, standings[first.manager_id].load) == (1, 0)

        statuses = [(await http.get(path, headers=headers)).status_code for path, headers in (
            (f"/clients/{client.client_id}/owner", {}), ("/clients/nobody/owner", AUTH),
            (f"/clients/{client.client_id}/reassign", AUTH))]
        invalid = await http.post(f"/clients/{client.client_id}/reassign", headers=AUTH, json={"manager_id": ""})
        assert statuses + [invalid.status_code] == [401, 404, 405, 422]
        assert len(live.mine(topics.CLIENTS_ASSIGNED, client_id=client.client_id)) == 2, "refusal changed nothing"
