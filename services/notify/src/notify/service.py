"""Notify's use cases over one batch each: requests, client and roster snapshots, consents and manager alerts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog

from clientbase.crypto.reader import open_batch
from clientbase.crypto.vault import KeyVault
from clientbase.events.envelope import derived_event_id
from clientbase.events.inbound import ConsentChanged, ManagerChanged, NotificationRequested
from clientbase.events.outbound import (
    ClientAssigned, ClientMerged, ClientSnapshot, HandoverOpened, HandoverOverdue, HotLeadUntouched,
)
from clientbase.kafka.reliability import Delivery

from notify.campaigns.birthdays import birthday_fields
from notify.delivery import Deliverer
from notify.domain import Request
from notify.ledger import entry, normalize_address
from notify.pipeline import Pipeline
from notify.records import request_of
from notify.repository import CLIENTS, MANAGERS, NotifyRepository

log = structlog.get_logger(__name__)

Doc = dict[str, Any]


class NotifyService:
    """The notify use cases, each applied to a whole batch of deliveries."""

    def __init__(self, repo: NotifyRepository, pipeline: Pipeline, deliverer: Deliverer, *, double_opt_in: bool,
                 confirm_external: bool, clock: Callable[[], datetime], vault: KeyVault | None = None) -> None:
        self.repo, self.pipeline, self.deliverer, self.vault = repo, pipeline, deliverer, vault
        self.double_opt_in, self.confirm_external, self.clock = double_opt_in, confirm_external, clock

    async def handle_requests(self, batch: Sequence[Delivery]) -> None:
        """Notification requests: decide in bulk, park or send each once, publish every outcome."""
        now = self.clock()
        await self.pipeline.submit([request_of(NotificationRequested.model_validate_json(d.body), first_seen=now)
                                    for d in batch])

    async def handle_snapshots(self, batch: Sequence[Delivery]) -> None:
        """Client registered/updated: keep the contact points and append the consent evidence to the ledger."""
        snapshots = await open_batch(ClientSnapshot, [d.body for d in batch], self.vault)
        docs = {s.client_id: {
            "_id": s.client_id, "snapshot": True, "name": s.name, "locale": s.locale, "language": s.language,
            "region": s.region, "country": s.country, "phones": [{"e164": p.e164, "type": p.type} for p in s.phones],
            "emails": [e.address for e in s.emails], "updated_at": s.occurred_at,
            **birthday_fields(s.birthday)} for s in snapshots}
        await self.repo.upsert_snapshots(CLIENTS, list(docs.values()))
        entries, owners = [], {}
        for s in snapshots:
            for c in s.consents:
                address = normalize_address(c.channel, c.address)
                entries.append(entry(
                    c.channel, address, "grant" if c.granted else "revoke", at=c.at, source=c.source or "client",
                    identity=f"{c.source}:{c.at.isoformat()}:{c.granted}",
                    needs_confirmation=self.double_opt_in and c.channel == "email",
                    text=c.text, text_version=c.text_version, ip=c.ip, lead_event_id=s.lead_event_id))
                owners[entries[-1]["_id"]] = s
        await self._record(entries, {k: (s.client_id, s.correlation_id) for k, s in owners.items()})

    async def handle_consents(self, batch: Sequence[Delivery]) -> None:
        """Consents changed elsewhere: append them; email grants need double opt-in only when configured."""
        entries, origins = [], {}
        for d in batch:
            event = ConsentChanged.model_validate_json(d.body)
            address = normalize_address(event.channel, event.address)
            entries.append(entry(
                event.channel, address, "grant" if event.granted else "revoke", at=event.occurred_at,
                source=event.source, identity=event.event_id,
                needs_confirmation=self.double_opt_in and self.confirm_external and event.channel == "email",
                text=event.text, text_version=event.text_version, event_id=event.event_id))
            origins[entries[-1]["_id"]] = (None, event.correlation_id or event.event_id)
        await self._record(entries, origins)

    async def _record(self, entries: list[Doc], origins: dict[str, tuple[str | None, str]]) -> None:
        """Append entries; ask each newly granted, unconfirmed email address to confirm it."""
        existed = await self.repo.append_ledger(entries)
        pending = [e for e in entries if e["needs_confirmation"] and e["_id"] not in existed]
        if not pending:
            return
        ledger = await self.repo.ledger({e["key"] for e in pending})
        requests = []
        for e in pending:
            if any(x["kind"] == "confirm" for x in ledger.get(e["key"], [])):
                continue
            url = self.deliverer.link("confirm", "email", e["address"])
            if url is None:
                log.warning("notify.confirmation_skipped", reason="token_secret_missing")
                continue
            client_id, correlation = origins[e["_id"]]
            requests.append(Request(
                request_id=derived_event_id("notify.confirm", e["_id"]), correlation_id=correlation,
                channel="email", category="service", template="confirm_email", params={"confirm_url": url},
                client_id=client_id, address=e["address"], first_seen=self.clock()))
        await self.pipeline.submit(requests)

    async def handle_merges(self, batch: Sequence[Delivery]) -> None:
        """Clients merged: requests for the merged-away client go to the survivor."""
        merges = [ClientMerged.model_validate_json(d.body) for d in batch]
        await self.repo.upsert_snapshots(CLIENTS, [{"_id": m.merged_client_id, "merged_into": m.client_id}
                                                   for m in merges])

    async def handle_managers(self, batch: Sequence[Delivery]) -> None:
        """The roster changed: keep each manager's contact points, languages and head-of-sales flag."""
        managers = [ManagerChanged.model_validate_json(d.body) for d in batch]
        await self.repo.upsert_snapshots(MANAGERS, [{
            "_id": m.manager_id, "name": m.name, "phone": normalize_address("sms", m.phone) if m.phone else None,
            "email": m.email.strip().lower() if m.email else None, "languages": m.languages, "is_head": m.is_head,
            "status": m.status} for m in managers])

    async def handle_assignments(self, batch: Sequence[Delivery]) -> None:
        """A client got a new owner: tell the manager by email (`manager_new_client`)."""
        events = [ClientAssigned.model_validate_json(d.body) for d in batch]
        await self.pipeline.submit([self._alert(e, "manager_new_client", e.manager_id, {
            "reason": e.reason, "deadline": _when(e.handover_deadline)}) for e in events])

    async def handle_handovers_opened(self, batch: Sequence[Delivery]) -> None:
        """A handover opened: remind its manager one day before the deadline (parked until then)."""
        events = [HandoverOpened.model_validate_json(d.body) for d in batch]
        now = self.clock()
        await self.pipeline.submit([self._alert(e, "handover_reminder", e.manager_id, {"deadline": _when(e.deadline)},
                                                not_before=e.deadline - timedelta(days=1))
                                    for e in events if e.deadline > now])

    async def handle_handovers_overdue(self, batch: Sequence[Delivery]) -> None:
        """A handover is overdue: tell the head of sales."""
        events = [HandoverOverdue.model_validate_json(d.body) for d in batch]
        _, managers = await self.repo.recipients((), {e.manager_id for e in events})
        heads = [] if all(e.head_manager_id for e in events) else await self.repo.heads_of_sales()
        requests = []
        for e in events:
            for head in [e.head_manager_id] if e.head_manager_id else [h["_id"] for h in heads]:
                requests.append(self._alert(e, "handover_overdue", head, {
                    "deadline": _when(e.deadline),
                    "manager_name": (managers.get(e.manager_id) or {}).get("name") or e.manager_id}))
        await self.pipeline.submit(requests)

    async def handle_hot_leads(self, batch: Sequence[Delivery]) -> None:
        """A hot lead untouched in time: level 1 alerts its owner (`hot_lead_owner`), level 2 the heads of sales
        (`hot_lead_head`)."""
        events = [HotLeadUntouched.model_validate_json(d.body) for d in batch]
        _, managers = await self.repo.recipients((), {e.manager_id for e in events})
        heads = await self.repo.heads_of_sales() if any(e.level == 2 for e in events) else []
        requests = []
        for e in events:
            params = {"hot_since": _when(e.hot_at), "minutes": e.business_minutes,
                      "manager_name": (managers.get(e.manager_id) or {}).get("name") or e.manager_id}
            targets = [e.manager_id] if e.level == 1 else [h["_id"] for h in heads]
            requests += [self._alert(e, "hot_lead_owner" if e.level == 1 else "hot_lead_head", m, params)
                         for m in targets]
        await self.pipeline.submit(requests)

    def _alert(self, event: Any, template: str, manager_id: str, params: Doc,
               not_before: datetime | None = None) -> Request:
        """An internal alert notify raises itself about the event's client, with a request id derived from its cause;
        the client's name and masked contacts are filled in when it is decided."""
        return Request(
            request_id=derived_event_id("notify.alert", template, event.event_id, manager_id),
            correlation_id=event.correlation_id, channel="email", category="internal", template=template,
            params=params, manager_id=manager_id, not_before=not_before, first_seen=self.clock(),
            subject_client_id=event.client_id)


def _when(moment: datetime | None) -> str | None:
    """A deadline as text for a template."""
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() if moment else None
