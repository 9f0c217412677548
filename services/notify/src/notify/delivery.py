"""Renders a message, records the intent, hands it to SMTP or an SMS provider and records the result."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import quote

import structlog

from clientbase.events.envelope import derived_event_id

from notify.consent import address_key
from notify.domain import Decision, Recipient, frequency_keys
from notify.mailer import Mailer
from notify.providers import DeliveryError, SmsGateway
from notify.records import Doc, request_from_doc, subject_params
from notify.repository import NotifyRepository
from notify.segments import segments
from notify.templates import TemplateProblem, Templates
from notify.tokens import issue

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeliveryConfig:
    """How sends are made: links, retries, concurrent provider calls and the lease that marks a send in progress."""

    public_url: str
    token_secret: bytes | None
    token_ttl_s: int
    message_id_domain: str
    attempts: int = 3
    backoff_s: float = 1.0
    lease_s: float = 300.0
    crash_window_s: float = 0.0
    send_concurrency: int = 8


class Deliverer:
    """One delivery per request, a batch at a time: intents are stored before the provider calls, results after."""

    def __init__(self, repo: NotifyRepository, templates: Templates, mailer: Mailer, sms: SmsGateway,
                 config: DeliveryConfig, clock: Callable[[], datetime]) -> None:
        self.repo, self.templates, self.mailer, self.sms = repo, templates, mailer, sms
        self.config, self.clock = config, clock

    def link(self, purpose: str, channel: str, address: str) -> str | None:
        """A signed link to notify's /unsubscribe or /confirm page, or None without a token key."""
        if self.config.token_secret is None:
            return None
        token = issue(self.config.token_secret, purpose, channel, address, now=time.time(),  # type: ignore[arg-type]
                      ttl_s=self.config.token_ttl_s)
        return f"{self.config.public_url.rstrip('/')}/{purpose}?t={quote(token)}"

    def prepare(self, decision: Decision, recipient: Recipient | None, subject: Recipient | None = None) -> Decision:
        """Render the message of a request cleared to send (an alert names its client as now known); a missing
        variable fails it (`template_error`)."""
        request, address = decision.request, decision.address or ""
        unsubscribe = None
        if request.channel == "email" and request.category == "marketing":
            unsubscribe = self.link("unsubscribe", "email", address)
            if unsubscribe is None:
                log.warning("notify.token_secret_missing", event_id=request.request_id)
                return replace(decision, verdict="failed", reason="provider_error")
        params = {"name": recipient.name if recipient else None, "unsubscribe_url": unsubscribe, **request.params,
                  **(subject_params(subject) if request.subject_client_id else {})}
        try:
            rendered = self.templates.render(request.template, decision.locale, params)
        except TemplateProblem as problem:
            log.warning("notify.template_error", event_id=request.request_id, template=request.template,
                        error=str(problem))
            return replace(decision, verdict="failed", reason="template_error")
        message = {"subject": rendered.subject, "body": rendered.body, "locale": rendered.locale}
        if unsubscribe:
            message["headers"] = {"List-Unsubscribe": f"<{unsubscribe}>",
                                  "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        if request.channel == "sms":
            message["segments"] = segments(rendered.body)
        return replace(decision, message=message)

    async def deliver_all(self, docs: Sequence[Doc]) -> list[tuple[Doc, Doc]]:
        """Send queued requests (and resume those found mid-send); return each finished one with its outcome.

        The queued ones are claimed in one guarded write that also stores the intent (a claim another replica won is
        skipped), the provider calls run concurrently, and every outcome is stored in one write after them.
        """
        now = self.clock()
        won = await self._claim([d for d in docs if d["status"] == "queued"], now)
        finished: dict[str, Doc] = {}
        for doc in docs:
            if doc["status"] == "sending" and doc["channel"] == "email":
                log.warning("notify.email_unconfirmed", event_id=doc["_id"])
                finished[doc["_id"]] = {"status": "sent", "reason": "unconfirmed",
                                        "provider": doc.get("provider") or self.mailer.name}
        sends = [*won, *(d for d in docs if d["status"] == "sending" and d["channel"] != "email")]
        limit = asyncio.Semaphore(self.config.send_concurrency)

        async def attempt(doc: Doc) -> Doc:
            async with limit:
                return await self._attempt(doc)

        results = await asyncio.gather(*(attempt(d) for d in sends), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        attempted = {d["_id"]: r for d, r in zip(sends, results, strict=True) if not isinstance(r, BaseException)}
        if self.config.crash_window_s and any(o["status"] == "sent" for o in attempted.values()):
            await asyncio.sleep(self.config.crash_window_s)
        finished |= attempted
        await self.repo.update_requests([({"_id": rid, "status": "sending"},
                                          {"status": "done", "due_at": None, "outcome": outcome})
                                         for rid, outcome in finished.items()])
        if errors:  # the outcomes known are stored; the rest resume from their documents
            raise errors[0]
        return [(d, finished[d["_id"]]) for d in docs if d["_id"] in finished]

    async def _claim(self, queued: Sequence[Doc], now: datetime) -> list[Doc]:
        """Move queued requests to `sending` (email's provider with them) and claim their sends; keep those won.

        The guarded write stores the intent and skips what another replica moved on already. FerretDB v1 runs an
        update as a read then a write, so two replicas can both pass the same guard: the send claim, an insert
        under the request id, is what only one of them can win.
        """
        if not queued:
            return []
        token, lease = uuid.uuid4().hex, now + timedelta(seconds=self.config.lease_s)
        intents = [{"status": "sending", "due_at": lease, "attempted_at": now, "send_claim": token,
                    **({"provider": self.mailer.name} if d["channel"] == "email" else {})} for d in queued]
        lost = await self.repo.claim_requests([({"_id": d["_id"], "status": "queued"}, intent)
                                               for d, intent in zip(queued, intents, strict=True)])
        if lost:  # FerretDB may report a write of ours applied before a retry as lost: the token tells
            stored = await self.repo.requests(queued[i]["_id"] for i in lost)
            lost = {i for i in lost if stored.get(queued[i]["_id"], {}).get("send_claim") != token}
        moved = [{**d, **intent} for i, (d, intent) in enumerate(zip(queued, intents, strict=True)) if i not in lost]
        held = await self.repo.claim_sends([{"_id": d["_id"], "at": now} for d in moved])
        won = [d for d in moved if d["_id"] not in held]
        if len(won) < len(queued):
            log.info("notify.claims_lost", count=len(queued) - len(won))
        await self.repo.record_sends([
            {"_id": f"{d['_id']}:{n}", "counter": c, "at": now, "request_id": d["_id"]}
            for d in won if d["category"] == "marketing"
            for n, c in enumerate(frequency_keys(request_from_doc(d), d["target"]))])
        return won

    async def _attempt(self, doc: Doc) -> Doc:
        """Try the provider with backoff; a permanent refusal suppresses the address and fails the request."""
        delay = self.config.backoff_s
        for attempt in range(1, self.config.attempts + 1):
            try:
                provider = await (self._email(doc) if doc["channel"] == "email" else self._sms(doc))
            except DeliveryError as error:
                log.warning("notify.send_failed", event_id=doc["_id"], provider=error.provider, reason=error.reason,
                            permanent=error.permanent, attempt=attempt)
                if error.permanent:
                    await self.suppress(doc["channel"], doc["target"], source=f"provider:{error.provider}",
                                        detail=error.reason, request_id=doc["_id"])
                    return {"status": "failed", "reason": "provider_error", "provider": error.provider}
                if attempt < self.config.attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
                continue
            log.info("notify.sent", event_id=doc["_id"], channel=doc["channel"], provider=provider,
                     segments=doc.get("message", {}).get("segments"))
            return {"status": "sent", "reason": None, "provider": provider}
        return {"status": "failed", "reason": "provider_error", "provider": None}

    async def _email(self, doc: Doc) -> str:
        """Send the stored email message through SMTP (its provider was stored with the claim)."""
        message = doc["message"]
        built = self.mailer.build(to=doc["target"], subject=message["subject"], body=message["body"],
                                  message_id=f"<{doc['_id']}@{self.config.message_id_domain}>",
                                  headers=message.get("headers"))
        return await self.mailer.send(built)

    async def _sms(self, doc: Doc) -> str:
        """Send the stored SMS through the gateway, keyed by the request so a resend is one message."""
        async def before_call(provider: str) -> None:
            await self.repo.update_request({"_id": doc["_id"]}, {"provider": provider})

        accepted = await self.sms.send(to=doc["target"], body=doc["message"]["body"], key=doc["_id"],
                                       prefer=doc.get("provider"), before_call=before_call)
        return accepted.provider

    async def suppress(self, channel: str, address: str, *, source: str, detail: str, request_id: str | None) -> None:
        """Put an address on the suppression list with the evidence."""
        key = address_key(channel, address)
        await self.repo.suppress([{"_id": derived_event_id("suppression", key, source, detail), "key": key,
                                   "channel": channel, "source": source, "detail": detail, "request_id": request_id,
                                   "at": self.clock()}])
        log.warning("notify.address_suppressed", channel=channel, source=source, detail=detail)
