"""Payloads outside systems publish (DESIGN §3.1); unknown fields are tolerated."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from clientbase.events.envelope import InboundEvent

Channel = Literal["sms", "email"]
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class _Part(BaseModel):
    """A nested part of an inbound payload: tolerant of unknown fields."""

    model_config = ConfigDict(frozen=True, extra="allow", str_strip_whitespace=True)


class Utm(_Part):
    """UTM marks of the page the lead came from."""

    source: str | None = Field(None, examples=["google"])
    medium: str | None = Field(None, examples=["cpc"])
    campaign: str | None = Field(None, examples=["spring"])
    term: str | None = None
    content: str | None = None


class FormFields(_Part):
    """What the visitor typed; any extra fields are kept as free-form."""

    name: str | None = Field(None, examples=["  иванов   Иван "])
    phone: str | None = Field(None, description="As typed, any local format.", examples=["8 (916) 123-45-67"])
    email: str | None = Field(None, examples=[" Ivan.Ivanov@Mail.RU "])
    company: str | None = Field(None, examples=["ООО «СтройМаркет»"])
    position: str | None = Field(None, examples=["Директор по закупкам"])
    region: str | None = Field(None, examples=["Москва"])
    comment: str | None = None
    birthday: str | None = Field(None, description="Birth date as typed (YYYY-MM-DD or DD.MM.YYYY); an invalid one "
                                 "is dropped with a warning on the client event.", examples=["14.03.1985"])
    website: str | None = Field(None, description="Honeypot: hidden from people, filled only by bots.")


class ConsentGiven(_Part):
    """A consent checkbox on the form, with the exact text the visitor saw."""

    channel: Channel = Field(examples=["sms"])
    granted: bool
    text: str = Field(examples=["Согласен получать SMS об акциях не чаще раза в неделю"])
    text_version: str = Field(examples=["2026-01"])


class FormSubmitted(InboundEvent):
    """A web form was submitted."""

    EVENT_TYPE = "FormSubmitted"

    form_id: str = Field(min_length=1, examples=["landing-spring"])
    page_url: str | None = Field(None, examples=["https://shop.example/spring"])
    utm: Utm = Field(default_factory=Utm)
    fields: FormFields
    consents: list[ConsentGiven] = Field(default_factory=list)
    client_ip: str | None = Field(None, examples=["198.51.100.23"])
    locale: str | None = Field(None, description="BCP 47 locale of the form.", examples=["ru-RU"])


class CallReceived(InboundEvent):
    """A call system reports a call; numbers come as the switch gives them."""

    EVENT_TYPE = "CallReceived"

    call_id: str = Field(min_length=1, examples=["c-1001"])
    direction: Literal["inbound", "outbound"]
    caller: str = Field(examples=["89161234567"])
    callee: str = Field(examples=["+74951332043"])
    status: Literal["answered", "missed", "voicemail"]
    duration_s: int = Field(0, ge=0)
    manager_id: str | None = Field(None, description="Who answered, when known.", examples=["m-ru-2"])
    default_region: str | None = Field(
        None, min_length=2, max_length=2, description="ISO country for numbers without a country code.",
        examples=["RU"],
    )


class SaleRecorded(InboundEvent):
    """Accounting recorded an order, shipment or payment, referring to a client by id or contact point."""

    EVENT_TYPE = "SaleRecorded"

    order_id: str = Field(min_length=1, examples=["SO-2026-0001"])
    kind: Literal["order", "shipment", "payment"]
    amount: Money = Field(ge=0, examples=[12500.0])
    currency: str = Field(min_length=3, max_length=3, examples=["RUB"])
    manager_id: str | None = Field(None, examples=["m-ru-2"])
    client_id: str | None = Field(None, description="The client, when the ERP knows our id.")
    phone: str | None = Field(None, description="A client phone, when the ERP has no client id.")
    email: str | None = Field(None, description="A client email, when the ERP has no client id.")

    @model_validator(mode="after")
    def check_client_reference(self) -> SaleRecorded:
        """A sale must name its client somehow."""
        if not (self.client_id or self.phone or self.email):
            raise ValueError("one of client_id, phone or email is required")
        return self


class ActivityRecorded(InboundEvent):
    """A manager worked with a client."""

    EVENT_TYPE = "ActivityRecorded"

    client_id: str = Field(min_length=1)
    manager_id: str = Field(min_length=1)
    kind: Literal["call", "email", "meeting", "note", "handover_report"]
    summary: str | None = None


class ManagerChanged(InboundEvent):
    """HR or admin tooling added or changed a manager."""

    EVENT_TYPE = "ManagerChanged"

    manager_id: str = Field(min_length=1, examples=["m-ru-1"])
    name: str = Field(examples=["Анна Кузнецова"])
    email: str | None = Field(None, examples=["anna@company.example"])
    phone: str | None = None
    grade: int = Field(ge=1, description="Professional grade, 1 = junior.", examples=[1])
    status: Literal["active", "on_leave", "departed"]
    capacity: int = Field(ge=0, description="Most clients this manager may hold.", examples=[200])
    regions: list[str] = Field(default_factory=list, examples=[["RU"]])
    languages: list[str] = Field(default_factory=list, examples=[["ru"]])
    is_head: bool = Field(False, description="Head of sales: receives escalations.")


class NotificationRequested(InboundEvent):
    """Someone asks for an SMS or email to a client or a manager."""

    EVENT_TYPE = "NotificationRequested"

    client_id: str | None = None
    manager_id: str | None = None
    channel: Channel
    category: Literal["marketing", "service", "internal"]
    template: str = Field(min_length=1, examples=["spring_offer"])
    params: dict[str, Any] = Field(default_factory=dict)
    dedupe_key: str | None = Field(None, description="Requests with the same key are sent once.")
    not_before: AwareDatetime | None = None

    @model_validator(mode="after")
    def check_one_recipient(self) -> NotificationRequested:
        """Exactly one of client_id and manager_id names the recipient."""
        if bool(self.client_id) == bool(self.manager_id):
            raise ValueError("exactly one of client_id or manager_id is required")
        return self


class ConsentChanged(InboundEvent):
    """A contact point opted in or out of a channel."""

    EVENT_TYPE = "ConsentChanged"

    channel: Channel
    address: str = Field(min_length=1, description="The phone number or email it is about.")
    granted: bool
    source: str = Field(min_length=1, examples=["unsubscribe-link"])
    text: str | None = None
    text_version: str | None = None


class ReassignRequested(InboundEvent):
    """A head of sales asks to move a client to a named manager by hand."""

    EVENT_TYPE = "ReassignRequested"

    client_id: str = Field(min_length=1, examples=["cl-20261120070000-5f0c3b9e1a2b3c4d"])
    manager_id: str = Field(min_length=1, description="The manager who should own the client.", examples=["m-ru-2"])
    requested_by: str = Field(min_length=1, description="Who asks (a head of sales' manager id or login).",
                              examples=["m-head-1"])
    reason_text: str | None = Field(None, max_length=2000, description="Why, in the requester's words.",
                                    examples=["Клиент просит менеджера, говорящего по-болгарски"])


CampaignGroup = Literal["potential_person", "potential_company", "current_person", "current_company"]


class Audience(_Part):
    """Which clients a campaign addresses: every given filter must match (a list means any of its values)."""

    temperature: list[Literal["cold", "warm", "hot"]] | None = None
    vip: bool | None = None
    activity: list[Literal["active", "passive", "lost", "none"]] | None = Field(
        None, description="`none` selects clients who never bought.")
    kind: list[Literal["person", "company"]] | None = None
    region: list[str] | None = None
    language: list[str] | None = None
    source: list[str] | None = Field(None, description="Channels of the client's first lead (form, call, import, "
                                     "manual).")


class CampaignSchedule(_Part):
    """When a campaign's messages may go: from `at` (default now), spread evenly until `until` when given."""

    at: AwareDatetime | None = None
    until: AwareDatetime | None = None


class CampaignRequested(InboundEvent):
    """Someone asks for a campaign: an audience by segment, a template per group, a channel and a schedule."""

    EVENT_TYPE = "CampaignRequested"

    campaign_id: str = Field(min_length=1, max_length=200, examples=["spring-2027"])
    audience: Audience = Field(default_factory=Audience)
    templates: dict[CampaignGroup, str] = Field(
        min_length=1, description="Template per group (potential = never bought, current = bought; × person / "
        "company); clients of a group without a template are not addressed.",
        examples=[{"potential_person": "campaign_potential_person", "current_company": "campaign_current_company"}],
    )
    channel: Channel
    category: Literal["marketing"] = "marketing"
    params: dict[str, Any] = Field(default_factory=dict, description="Template variables shared by every message.")
    schedule: CampaignSchedule = Field(default_factory=CampaignSchedule)
    dry_run: bool = Field(False, description="Only count per group and per suppression reason; send nothing.")
