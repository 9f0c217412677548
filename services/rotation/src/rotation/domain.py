"""Rotation's domain: managers, client ownership, rule settings and decisions, with no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from clientbase.segments import VipRule


def parse_moment(text: str) -> datetime:
    """An ISO date or datetime; a date means its midnight UTC, a naive time is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


Trigger = Literal["no_first_sale", "no_repeat_sale", "manager_departed", "not_contacted"]
ManagerStatus = Literal["active", "on_leave", "departed"]
DeferralReason = Literal[
    "no_eligible_manager", "current_manager_unknown", "no_active_manager",
]


class RotationError(Exception):
    """Base of the rotation service's domain errors."""


class ConcurrentChange(RotationError):
    """Another writer changed a client between the batch's read and its write; a retry decides again."""


@dataclass(frozen=True)
class Manager:
    """A sales manager as the roster knows them."""

    manager_id: str
    grade: int
    status: ManagerStatus
    capacity: int
    regions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    is_head: bool = False
    name: str = ""


@dataclass(frozen=True)
class Standing:
    """A manager with the figures the policy ranks by: load and rotation balance."""

    manager: Manager
    load: int = 0
    received: int = 0
    given: int = 0

    @property
    def manager_id(self) -> str:
        """The manager's id."""
        return self.manager.manager_id

    @property
    def balance(self) -> int:
        """Clients received minus clients given away by rotation ("as many as you take, so many you give")."""
        return self.received - self.given


@dataclass(frozen=True)
class Client:
    """What rotation knows about one client: owner, epoch, sales and the fields matching uses."""

    client_id: str
    manager_id: str | None
    epoch: int
    assigned_at: datetime | None
    first_sale_at: datetime | None = None
    last_sale_at: datetime | None = None
    sales_count: int = 0
    revenue: float = 0.0
    kind: str = "person"
    region: str | None = None
    country: str | None = None
    language: str | None = None
    previous_owners: tuple[str, ...] = ()
    deferrals: int = 0
    handled_by_manager_id: str | None = None

    @property
    def has_sale(self) -> bool:
        """Whether the client has ever bought."""
        return self.sales_count > 0 or self.last_sale_at is not None


@dataclass(frozen=True)
class Rules:
    """Rotation thresholds and grade rules; the service fills them from its settings."""

    no_first_sale_days: int = 180
    no_repeat_sale_days: int = 365
    handover_days: int = 14
    no_return_window: int = 3
    large_client_revenue: float = 1_000_000.0
    vip: VipRule = VipRule()
    large_max_grade_step: int = 1
    rule_version: str = "rotation-2026.1"


@dataclass(frozen=True)
class Choice:
    """The outcome of choosing a manager: the chosen id, or none and the deferral reason."""

    manager_id: str | None
    inputs: dict[str, Any] = field(default_factory=dict)
    deferral_reason: DeferralReason | None = None

    @property
    def deferred(self) -> bool:
        """Whether nobody could be chosen."""
        return self.manager_id is None


@dataclass(frozen=True)
class PlannedRotation:
    """One line of a rotation plan: which client leaves whom, why, and to whom (or why not)."""

    client_id: str
    epoch: int
    deferrals: int
    trigger: Trigger
    from_manager_id: str | None
    choice: Choice
    since: datetime | None = None

    @property
    def key(self) -> str:
        """What makes this inactivity unique: trigger, assignment epoch, deferrals and when the clock started."""
        since = self.since.isoformat() if self.since else ""
        return f"{self.trigger}:{self.epoch}:{self.deferrals}:{since}"
