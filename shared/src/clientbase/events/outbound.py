"""Payloads the services publish (DESIGN §3.2); unknown fields are refused."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clientbase.events.envelope import Envelope
from clientbase.events.inbound import Channel, Money
from clientbase.events.personal import sealed_base

AssignmentReason = Literal["initial", "no_first_sale", "no_repeat_sale", "manager_departed", "manual"]
InactivityTrigger = Literal["no_first_sale", "no_repeat_sale", "manager_departed", "not_contacted"]
RejectionCode = Literal[
    "invalid_json",
    "schema_violation",
    "no_usable_contact",
    "honeypot_filled",
    "payload_too_large",
    "unknown_schema_version",
    "unresolved_client",
]


class _Part(BaseModel):
    """A nested part of an outbound payload: strict about its fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class PhoneOut(_Part):
    """A normalized phone number of a client."""

    e164: str = Field(examples=["+79161234567"])
    type: Literal["mobile", "fixed", "fixed_or_mobile", "toll_free", "voip", "other"] = Field(examples=["mobile"])
    source: str | None = Field(None, description="Form id or call id it came from.", examples=["form:landing-spring"])
    confirmed_at: AwareDatetime | None = None


class EmailOut(_Part):
    """A normalized email address of a client."""

    address: str = Field(examples=["ivan.ivanov@mail.ru"])
    source: str | None = Field(None, examples=["form:landing-spring"])
    confirmed_at: AwareDatetime | None = None


class LeadSource(_Part):
    """Where a lead came from, for per-channel figures."""

    channel: Literal["form", "call", "import", "manual"] = Field(examples=["form"])
    form_id: str | None = Field(None, examples=["landing-spring"])
    utm: dict[str, str] = Field(default_factory=dict, examples=[{"source": "google", "medium": "cpc"}])
    call_id: str | None = None
    called_number: str | None = None


class ConsentEvidence(_Part):
    """One consent (or refusal) for one channel and address, with its proof."""

    channel: Channel
    address: str = Field(description="E.164 phone or normalized email the consent is about.")
    granted: bool
    text: str | None = None
    text_version: str | None = None
    at: AwareDatetime
    ip: str | None = None
    source: str | None = Field(None, examples=["form:landing-spring"])


class ContactPerson(_Part):
    """A person at a company client."""

    name: str | None = None
    position: str | None = None
    phones: list[str] = Field(default_factory=list, description="E.164 numbers.")
    emails: list[str] = Field(default_factory=list)
    archived: bool = False


class LeadWarning(_Part):
    """Something in a lead was dropped while the lead itself was used, machine-readable."""

    code: Literal["invalid_birthday"]
    field: str | None = Field(None, examples=["fields.birthday"])
    message: str = Field(examples=["not a plausible birth date"])


class ClientSnapshot(Envelope):
    """A client record as intake knows it after a lead (schema version 1: personal fields in clear)."""

    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = (
        "name", "phones", "emails", "company", "position", "contacts", "consents", "birthday",
    )

    client_id: str = Field(examples=["cl-5f0c3b9e"])
    kind: Literal["person", "company"]
    name: str | None = Field(None, examples=["Иван Иванов"])
    phones: list[PhoneOut] = Field(default_factory=list)
    emails: list[EmailOut] = Field(default_factory=list)
    company: str | None = None
    position: str | None = None
    contacts: list[ContactPerson] = Field(default_factory=list)
    region: str | None = None
    country: str | None = Field(None, description="ISO country of the client's main phone.", examples=["RU"])
    locale: str | None = Field(None, examples=["ru-RU"])
    language: str | None = Field(None, examples=["ru"])
    lead_source: LeadSource = Field(description="Where the lead came from (the envelope's `source` names the publishing service).")
    consents: list[ConsentEvidence] = Field(default_factory=list)
    hot: bool = False
    missing_fields: list[str] = Field(default_factory=list, examples=[["region"]])
    last_confirmed_at: AwareDatetime | None = None
    confirmations: list[AwareDatetime] = Field(
        default_factory=list, description="When each phone, then each email was last confirmed, without the contact "
        "points themselves: stays in clear when they are sealed, for the actual contact rate.",
    )
    lead_event_id: str
    handled_by_manager_id: str | None = Field(None, description="Manager who answered the call, if any.")
    birthday: date | None = Field(None, description="Birth date from a form (`fields.birthday`), normalized.")
    warnings: list[LeadWarning] = Field(default_factory=list, description="What this lead carried that was dropped.")


class ClientRegistered(ClientSnapshot):
    """A new client record was created from a lead."""

    EVENT_TYPE = "ClientRegistered"


class ClientUpdated(ClientSnapshot):
    """An existing client record got new data from a lead."""

    EVENT_TYPE = "ClientUpdated"


class SealedClientRegistered(sealed_base(ClientRegistered)):  # type: ignore[misc]
    """A new client record was created from a lead; its personal fields are sealed (schema version 2)."""

    EVENT_TYPE = "ClientRegistered"


class SealedClientUpdated(sealed_base(ClientUpdated)):  # type: ignore[misc]
    """An existing client record got new data from a lead; its personal fields are sealed (schema version 2)."""

    EVENT_TYPE = "ClientUpdated"


class ClientMerged(Envelope):
    """Two client records were one client; `client_id` survives."""

    EVENT_TYPE = "ClientMerged"

    client_id: str
    merged_client_id: str
    lead_event_id: str | None = None


class RejectionReason(_Part):
    """Why a lead or input could not be used, machine-readable."""

    code: RejectionCode
    field: str | None = Field(None, examples=["fields.phone"])
    message: str = Field(examples=["no valid phone and no valid email"])


class LeadRejected(Envelope):
    """An input could not be used; it was kept in quarantine for replay."""

    EVENT_TYPE = "LeadRejected"

    lead_event_id: str | None = None
    topic: str = Field(examples=["leads.form-submitted"])
    reasons: list[RejectionReason] = Field(min_length=1)
    quarantine_id: str


class SaleAttributed(Envelope):
    """A recorded sale resolved to its client."""

    EVENT_TYPE = "SaleAttributed"

    client_id: str
    sale_event_id: str
    order_id: str
    kind: Literal["order", "shipment", "payment"]
    amount: Money
    currency: str
    manager_id: str | None = None
    sold_at: AwareDatetime


class ClientAssigned(Envelope):
    """A client got a responsible manager, with the reason and the inputs that decided it."""

    EVENT_TYPE = "ClientAssigned"

    client_id: str
    manager_id: str
    previous_manager_id: str | None = None
    reason: AssignmentReason
    rule_version: str = Field(examples=["rotation-2026.1"])
    handover_deadline: AwareDatetime | None = None
    decision: dict[str, Any] = Field(default_factory=dict, description="Inputs that decided the choice.")


class ClientInactive(Envelope):
    """The sweep found a client past an inactivity threshold."""

    EVENT_TYPE = "ClientInactive"

    client_id: str
    manager_id: str
    trigger: InactivityTrigger
    as_of: AwareDatetime
    assignment_epoch: int = Field(ge=0, description="Which assignment of this client it is about.")
    attempt: int = Field(0, ge=0, description="How many times rotating this assignment was deferred before.")
    planned_manager_id: str | None = Field(
        None, description="The manager the sweep's plan chose; the rotator keeps it while still eligible.",
    )


class RotationDeferred(Envelope):
    """A client due for rotation stays with its owner for now: nobody eligible; the next sweep retries."""

    EVENT_TYPE = "RotationDeferred"

    client_id: str
    manager_id: str | None = Field(None, description="The owner the client stays with, if any.")
    trigger: InactivityTrigger | Literal["initial"]
    reason: str = Field(examples=["no_eligible_manager"])
    as_of: AwareDatetime
    assignment_epoch: int = Field(ge=0)
    attempt: int = Field(ge=0, description="Deferrals of this assignment before this one.")
    decision: dict[str, Any] = Field(default_factory=dict, description="Inputs the policy saw.")


class HandoverOpened(Envelope):
    """A new manager must report on a received client by the deadline."""

    EVENT_TYPE = "HandoverOpened"

    client_id: str
    manager_id: str
    previous_manager_id: str | None = None
    deadline: AwareDatetime


class HandoverOverdue(Envelope):
    """A handover deadline passed without a report; the head of sales is told."""

    EVENT_TYPE = "HandoverOverdue"

    client_id: str
    manager_id: str
    deadline: AwareDatetime
    head_manager_id: str | None = None


class NotificationOutcome(Envelope):
    """What happened to a notification request."""

    EVENT_TYPE = "NotificationOutcome"

    request_event_id: str
    client_id: str | None = None
    manager_id: str | None = None
    channel: Channel
    status: Literal["sent", "suppressed", "deferred", "failed"]
    reason: str | None = Field(None, examples=["no_consent"])
    provider: str | None = Field(None, examples=["smtp"])
    deliver_after: datetime | None = None


ReassignRefusal = Literal[
    "client_unknown", "client_merged", "client_unassigned", "manager_unknown", "manager_departed",
    "manager_on_leave", "manager_at_capacity", "already_owner",
]


class ReassignRefused(Envelope):
    """A manual reassignment was refused; nothing changed, and the reason says why."""

    EVENT_TYPE = "ReassignRefused"

    request_event_id: str = Field(description="The event_id of the clients.reassign-requested event.")
    client_id: str
    manager_id: str = Field(description="The manager the client was to move to.")
    current_manager_id: str | None = Field(None, description="Who owns the client now, if anyone.")
    requested_by: str
    reason: ReassignRefusal = Field(examples=["manager_departed"])
    detail: dict[str, Any] = Field(default_factory=dict, description="The figures behind the refusal.")


class Segment(_Part):
    """A client's segment (DESIGN §2.1): temperature, the VIP flag, activity and kind."""

    temperature: Literal["cold", "warm", "hot"] = Field(examples=["warm"])
    vip: bool = False
    activity: Literal["active", "passive", "lost"] | None = Field(
        None, description="null for a client who never bought.", examples=["active"],
    )
    kind: Literal["person", "company"] = "person"


class ClientSegmented(Envelope):
    """A client's segment changed; published only on a change, with the rule version and the inputs."""

    EVENT_TYPE = "ClientSegmented"

    client_id: str = Field(examples=["cl-5f0c3b9e"])
    segment: Segment
    previous: Segment | None = Field(None, description="The segment before this change; null for the first one.")
    region: str | None = None
    language: str | None = Field(None, examples=["ru"])
    lead_source: LeadSource | None = Field(None, description="Where the client's first lead came from.")
    rule_version: str = Field(examples=["segments-2026.1"])
    as_of: AwareDatetime = Field(description="The instant the segment was judged at.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="The inputs that decided the segment.")


class CampaignCompleted(Envelope):
    """A campaign's report: its audience per group and what happened to its messages (a dry run: would happen)."""

    EVENT_TYPE = "CampaignCompleted"

    campaign_id: str
    dry_run: bool = False
    groups: dict[str, int] = Field(default_factory=dict, description="Clients addressed per group.")
    sent: int = Field(0, description="Messages sent (a dry run: that would be sent now).")
    suppressed: dict[str, int] = Field(default_factory=dict, description="Suppressed messages per reason.")
    deferred: dict[str, int] = Field(default_factory=dict, description="A dry run: messages that would wait, per "
                                     "reason (quiet hours, schedule).")
    failed: dict[str, int] = Field(default_factory=dict, description="Failed messages per reason.")


class HotLeadUntouched(Envelope):
    """A hot client got no activity by its owner in time: level 1 tells the owner, level 2 the head of sales."""

    EVENT_TYPE = "HotLeadUntouched"

    client_id: str
    manager_id: str = Field(description="The client's owner, who has not worked with it since the hot signal.")
    level: Literal[1, 2] = Field(description="1 after N business minutes (owner), 2 after 2N (head of sales).")
    hot_at: AwareDatetime = Field(description="When the hot signal (callback request, missed call) came.")
    business_minutes: int = Field(description="Business minutes of the owner's region since the hot signal.")
    threshold_minutes: int = Field(description="N, the business minutes an owner has to answer a hot lead.")
    as_of: AwareDatetime


class ClientErased(Envelope):
    """A service erased or irreversibly anonymised a client's personal data; anonymous counts stay."""

    EVENT_TYPE = "ClientErased"

    request_event_id: str = Field(description="The event_id of the clients.erasure-requested event.")
    client_id: str
    service: str = Field(examples=["notify"])
    collections: dict[str, int] = Field(default_factory=dict, description="Documents touched per collection.",
                                        examples=[{"consent_ledger": 2, "requests": 3}])
    documents: int = Field(0, description="Documents touched in all.")
    requested_by: str
    legal_basis: str
