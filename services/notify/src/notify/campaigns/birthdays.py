"""The daily birthday campaign: greet the configured audience on their birthday in their local time, once a year."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from clientbase.events.envelope import derived_event_id
from clientbase.events.inbound import Audience

from notify.campaigns.audience import audience_query
from notify.domain import Policy, Request
from notify.pipeline import Pipeline
from notify.repository import CLIENTS
from notify.zones import resolve_zone

log = structlog.get_logger(__name__)
Doc = dict[str, Any]


def month_day(birthday: str | None) -> str | None:
    """`MM-DD` of an ISO birth date (29 February is greeted on 28 February)."""
    if not birthday:
        return None
    return "02-28" if birthday[5:] == "02-29" else birthday[5:]


def birthday_fields(birthday: date | None) -> Doc:
    """What notify keeps of a client's birth date (nothing when the snapshot has none)."""
    return {"birthday": birthday.isoformat(), "birthday_md": month_day(birthday.isoformat())} if birthday else {}


def birthday_today(doc: Doc, now: datetime, policy: Policy) -> int | None:
    """The year of the client's birthday when it is today in the client's local time, else None."""
    phones = doc.get("phones") or []
    zone = resolve_zone(region=doc.get("region"), phone=phones[0]["e164"] if phones else None,
                        country=doc.get("country"), country_zones=policy.country_timezones,
                        company_zone=policy.company_timezone)
    local = now.astimezone(zone).date()
    return local.year if local.strftime("%m-%d") == doc.get("birthday_md") else None


class BirthdayGreeter:
    """Finds the audience's birthdays of today (in every zone) and submits one greeting per client and year."""

    def __init__(self, db: Any, pipeline: Pipeline, policy: Policy, *, audience: Audience, template: str,
                 channel: str, clock: Callable[[], datetime]) -> None:
        self.db, self.pipeline, self.policy = db, pipeline, policy
        self.audience, self.template, self.channel, self.clock = audience, template, channel, clock

    async def greet(self) -> int:
        """Submit the greetings due now (one read, then the pipeline's batch); return how many were submitted."""
        now = self.clock()
        days = sorted({(now + timedelta(days=d)).strftime("%m-%d") for d in (-1, 0, 1)})  # every zone's today
        query = {**audience_query(self.audience), "birthday_md": {"$in": days}}
        docs = await self.db[CLIENTS].find(query).to_list()
        requests = []
        for doc in docs:
            year = birthday_today(doc, now, self.policy)
            if year is None:
                continue
            request_id = derived_event_id("notify.birthday", year, doc["_id"])
            requests.append(Request(
                request_id=request_id, correlation_id=request_id, channel=self.channel, category="marketing",
                template=self.template, params={"year": year}, client_id=doc["_id"], first_seen=now))
        await self.pipeline.submit(requests)
        log.info("notify.birthdays_greeted", candidates=len(docs), submitted=len(requests))
        return len(requests)
