"""Which payload model travels on which topic."""

from __future__ import annotations

from pydantic import BaseModel

from clientbase import topics
from clientbase.events import inbound, outbound

MODEL_BY_TOPIC: dict[str, type[BaseModel]] = {
    topics.LEADS_FORM_SUBMITTED.name: inbound.FormSubmitted,
    topics.LEADS_CALL_RECEIVED.name: inbound.CallReceived,
    topics.SALES_RECORDED.name: inbound.SaleRecorded,
    topics.ACTIVITIES_RECORDED.name: inbound.ActivityRecorded,
    topics.MANAGERS_CHANGED.name: inbound.ManagerChanged,
    topics.NOTIFICATIONS_REQUESTED.name: inbound.NotificationRequested,
    topics.CONSENTS_CHANGED.name: inbound.ConsentChanged,
    topics.CLIENTS_REASSIGN_REQUESTED.name: inbound.ReassignRequested,
    topics.CLIENTS_REGISTERED.name: outbound.SealedClientRegistered,
    topics.CLIENTS_UPDATED.name: outbound.SealedClientUpdated,
    topics.CLIENTS_MERGED.name: outbound.ClientMerged,
    topics.LEADS_REJECTED.name: outbound.LeadRejected,
    topics.SALES_ATTRIBUTED.name: outbound.SaleAttributed,
    topics.CLIENTS_ASSIGNED.name: outbound.ClientAssigned,
    topics.CLIENTS_INACTIVE.name: outbound.ClientInactive,
    topics.HANDOVERS_OPENED.name: outbound.HandoverOpened,
    topics.HANDOVERS_OVERDUE.name: outbound.HandoverOverdue,
    topics.CLIENTS_REASSIGN_REFUSED.name: outbound.ReassignRefused,
    topics.ROTATIONS_DEFERRED.name: outbound.RotationDeferred,
    topics.NOTIFICATIONS_OUTCOMES.name: outbound.NotificationOutcome,
    topics.CLIENTS_SEGMENTED.name: outbound.ClientSegmented,
    topics.CAMPAIGNS_REQUESTED.name: inbound.CampaignRequested,
    topics.CAMPAIGNS_COMPLETED.name: outbound.CampaignCompleted,
    topics.CLIENTS_HOT_UNTOUCHED.name: outbound.HotLeadUntouched,
    topics.CLIENTS_ERASURE_REQUESTED.name: inbound.ErasureRequested,
    topics.CLIENTS_ERASED.name: outbound.ClientErased,
}


def model_for(topic_name: str) -> type[BaseModel]:
    """The payload model of a registered topic."""
    return MODEL_BY_TOPIC[topic_name]
