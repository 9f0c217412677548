"""The one registry of Kafka topics: names, partitions, keys, producers and consumers."""

from __future__ import annotations

from dataclasses import dataclass

DLQ_SUFFIX = ".dlq"
DLQ_REPLAYS = "dlq.replayed"  # operations log of `clientbase-dlq replay`: which dead letters went back, and where


@dataclass(frozen=True)
class Topic:
    """A topic of the public contract, with who writes it and who reads it."""

    name: str
    partitions: int
    key: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    description: str
    retention_ms: int = -1  # events are kept: metrics rebuilds and intake replays read topics from the start

    @property
    def dlq(self) -> str:
        """Name of the dead-letter topic for messages of this topic that keep failing."""
        return self.name + DLQ_SUFFIX


LEADS_FORM_SUBMITTED = Topic(
    "leads.form-submitted", 6, "any (producer's choice)", ("web forms", "intake webhook"), ("intake",),
    "A web form was submitted.",
)
LEADS_CALL_RECEIVED = Topic(
    "leads.call-received", 6, "any (producer's choice)", ("call systems", "intake webhook"), ("intake",),
    "A call system reports an inbound or outbound call.",
)
SALES_RECORDED = Topic(
    "sales.recorded", 6, "client reference", ("accounting / ERP",), ("intake",),
    "Accounting recorded an order, shipment or payment.",
)
ACTIVITIES_RECORDED = Topic(
    "activities.recorded", 6, "client_id", ("CRM front ends", "call systems"), ("rotation", "metrics"),
    "A manager worked with a client (call, email, meeting, note, handover report).",
)
MANAGERS_CHANGED = Topic(
    "managers.changed", 3, "manager_id", ("HR / admin tooling",), ("rotation", "notify", "metrics"),
    "A manager was added or changed: grade, status, capacity, regions, languages.",
)
NOTIFICATIONS_REQUESTED = Topic(
    "notifications.requested", 6, "client_id", ("any service", "campaign tools"), ("notify",),
    "Someone asks for an SMS or email to a client or manager.",
)
CONSENTS_CHANGED = Topic(
    "consents.changed", 6, "address", ("any opt-in/opt-out system",), ("notify",),
    "A contact point opted in or out of a channel.",
)
CLIENTS_REASSIGN_REQUESTED = Topic(
    "clients.reassign-requested", 6, "client_id", ("head-of-sales tools", "rotation HTTP API"), ("rotation",),
    "A head of sales asks to move a client to a named manager by hand.",
)
CLIENTS_REGISTERED = Topic(
    "clients.registered", 6, "client_id", ("intake",), ("rotation", "notify", "metrics"),
    "A new client record was created from a lead.",
)
CLIENTS_UPDATED = Topic(
    "clients.updated", 6, "client_id", ("intake",), ("rotation", "notify", "metrics"),
    "An existing client record got new data from a lead.",
)
CLIENTS_MERGED = Topic(
    "clients.merged", 6, "client_id", ("intake",), ("rotation", "notify", "metrics"),
    "Two client records turned out to be one; the survivor is named.",
)
LEADS_REJECTED = Topic(
    "leads.rejected", 3, "lead_event_id", ("intake",), ("operators",),
    "A lead could not be used; reasons and the quarantine id are given.",
)
SALES_ATTRIBUTED = Topic(
    "sales.attributed", 6, "client_id", ("intake",), ("rotation", "metrics"),
    "A recorded sale resolved to its client.",
)
CLIENTS_ASSIGNED = Topic(
    "clients.assigned", 6, "client_id", ("rotation",), ("notify", "metrics"),
    "A client got a (new) responsible manager, with the reason.",
)
CLIENTS_INACTIVE = Topic(
    "clients.inactive", 6, "client_id", ("rotation sweep",), ("rotation",),
    "The sweep found a client past an inactivity threshold.",
)
HANDOVERS_OPENED = Topic(
    "handovers.opened", 6, "client_id", ("rotation",), ("notify", "metrics"),
    "A new manager must report on a received client by the deadline.",
)
HANDOVERS_OVERDUE = Topic(
    "handovers.overdue", 6, "client_id", ("rotation",), ("notify", "metrics"),
    "A handover deadline passed without a report; escalated to the head of sales.",
)
CLIENTS_REASSIGN_REFUSED = Topic(
    "clients.reassign-refused", 6, "client_id", ("rotation",), ("operators",),
    "A manual reassignment was refused, with the reason (target departed, on leave, at capacity, unknown, ...).",
)
ROTATIONS_DEFERRED = Topic(
    "rotations.deferred", 6, "client_id", ("rotation",), ("operators",),
    "A client due for rotation stays with its owner: no eligible manager; the next sweep retries.",
)
NOTIFICATIONS_OUTCOMES = Topic(
    "notifications.outcomes", 6, "client_id or manager_id", ("notify",), ("metrics",),
    "What happened to a notification request: sent, suppressed, deferred or failed.",
)
CLIENTS_SEGMENTED = Topic(
    "clients.segmented", 6, "client_id", ("metrics",), ("notify",),
    "A client's segment (temperature, VIP, activity, kind) changed, with the rule version and its inputs.",
)
CAMPAIGNS_REQUESTED = Topic(
    "campaigns.requested", 3, "campaign_id", ("campaign tools", "notify CLI and HTTP"), ("notify",),
    "Someone asks for a campaign: an audience by segment, a template per group, channel and schedule.",
)
CAMPAIGNS_COMPLETED = Topic(
    "campaigns.completed", 3, "campaign_id", ("notify",), (),
    "A campaign's final report: audience per group, sent, suppressed and failed by reason.",
)
CLIENTS_HOT_UNTOUCHED = Topic(
    "clients.hot-untouched", 6, "client_id", ("rotation",), ("notify",),
    "A hot client got no activity by its owner within N business minutes (level 1) or 2N (level 2).",
)

TOPICS: tuple[Topic, ...] = (
    LEADS_FORM_SUBMITTED,
    LEADS_CALL_RECEIVED,
    SALES_RECORDED,
    ACTIVITIES_RECORDED,
    MANAGERS_CHANGED,
    NOTIFICATIONS_REQUESTED,
    CONSENTS_CHANGED,
    CLIENTS_REASSIGN_REQUESTED,
    CLIENTS_REGISTERED,
    CLIENTS_UPDATED,
    CLIENTS_MERGED,
    LEADS_REJECTED,
    SALES_ATTRIBUTED,
    CLIENTS_ASSIGNED,
    CLIENTS_INACTIVE,
    HANDOVERS_OPENED,
    HANDOVERS_OVERDUE,
    CLIENTS_REASSIGN_REFUSED,
    ROTATIONS_DEFERRED,
    NOTIFICATIONS_OUTCOMES,
    CLIENTS_SEGMENTED,
    CAMPAIGNS_REQUESTED,
    CAMPAIGNS_COMPLETED,
    CLIENTS_HOT_UNTOUCHED,
)


def topic_named(name: str) -> Topic:
    """Return the registered topic with this name, or raise KeyError."""
    for topic in TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(name)


def topic_configs() -> dict[str, dict[str, str]]:
    """The configuration every registry topic, its dead-letter twin and the replay log are created with (retention)."""
    configs = {name: {"retention.ms": str(topic.retention_ms)} for topic in TOPICS for name in (topic.name, topic.dlq)}
    return {**configs, DLQ_REPLAYS: {"retention.ms": "-1"}}


def all_topic_names_and_partitions() -> list[tuple[str, int]]:
    """Every topic the system needs, dead-letter topics included, with its partition count."""
    pairs: list[tuple[str, int]] = []
    for topic in TOPICS:
        pairs.append((topic.name, topic.partitions))
        pairs.append((topic.dlq, 1))
    pairs.append((DLQ_REPLAYS, 1))
    return pairs
