"""Each client's segment state, folded from its events, and the segment judged from it (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from clientbase.events.envelope import derived_event_id
from clientbase.events.outbound import ClientMerged, ClientSegmented, ClientSnapshot, SaleAttributed
from clientbase.segments import RULE_VERSION, Buy, SegmentSettings, Windows, judge

from metrics.definitions import SaleEvent, purchases_of
from metrics.history import aware

SOURCE = "metrics"
PURCHASE_KINDS = ("order", "shipment")
State = dict[str, Any]


def new_state(client_id: str) -> State:
    """The state of a client nothing is known about yet."""
    return {"_id": client_id, "rev": 0, "seq": 0, "kind": "person", "sales": [], "hot_signal_at": None,
            "segment": None, "merged_into": None}


def clients_named(events: Iterable[BaseModel]) -> set[str]:
    """Every client id a batch names (merged clients included)."""
    ids: set[str] = set()
    for event in events:
        if isinstance(event, (ClientSnapshot, SaleAttributed, ClientMerged)):
            ids.add(event.client_id)
        if isinstance(event, ClientMerged):
            ids.add(event.merged_client_id)
    return ids


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((x for x in (a, b) if x is not None), default=None)


def _add_sales(state: State, sales: Iterable[dict[str, Any]]) -> None:
    known = {s["event_id"] for s in state["sales"]}
    state["sales"] = [*state["sales"], *(s for s in sales if s["event_id"] not in known)]


def fold(states: dict[str, State], events: Sequence[BaseModel]) -> dict[str, str]:
    """Apply a batch's events to the loaded states (a merged client's events go to its survivor).

    Returns the touched client ids, each with the event id of the last event that touched it.
    """
    touched: dict[str, str] = {}

    def of(client_id: str) -> State:
        state = states.setdefault(client_id, new_state(client_id))
        survivor = state.get("merged_into")
        return of(survivor) if survivor and survivor != client_id else state

    for event in events:
        match event:
            case ClientSnapshot():
                state = of(event.client_id)
                at = event.occurred_at
                own = state["_id"] == event.client_id  # a late snapshot of a merged client adds only its signal
                if own and (state.get("profile_at") is None or at >= aware(state["profile_at"])):
                    state.update(kind=event.kind, region=event.region, language=event.language, profile_at=at)
                if own and (state.get("source_at") is None or at < aware(state["source_at"])):
                    state.update(lead_source=event.lead_source.model_dump(), source_at=at)
                if event.hot:
                    state["hot_signal_at"] = _later(state["hot_signal_at"] and aware(state["hot_signal_at"]), at)
            case SaleAttributed() if event.kind in PURCHASE_KINDS:
                state = of(event.client_id)
                _add_sales(state, [{"event_id": event.event_id, "order_id": event.order_id, "kind": event.kind,
                                    "at": event.occurred_at, "amount": str(event.amount), "currency": event.currency.upper()}])
            case ClientMerged() if event.merged_client_id != event.client_id:
                survivor, merged = of(event.client_id), of(event.merged_client_id)
                if merged is survivor:
                    continue
                _add_sales(survivor, merged["sales"])
                hot = [aware(x) for x in (survivor["hot_signal_at"], merged["hot_signal_at"]) if x is not None]
                survivor["hot_signal_at"] = max(hot, default=None)
                merged.update(merged_into=survivor["_id"], sales=[], hot_signal_at=None)
                touched[merged["_id"]] = event.event_id
                state = survivor
            case _:
                continue
        touched[state["_id"]] = event.event_id
    return touched


def buys_of(state: State) -> list[Buy]:
    """A client's purchases by the purchase definition, from its stored order and shipment events."""
    sales = [SaleEvent(s["event_id"], state["_id"], s["order_id"], s["kind"], aware(s["at"]), Decimal(s["amount"]),
                       s["currency"]) for s in state["sales"]]
    return [Buy(p.at, p.amount, p.currency) for p in purchases_of(sales, {})]


def totals_of(buys: Sequence[Buy]) -> list[dict[str, Any]]:
    """Revenue and orders per currency, the inputs of the company's average order."""
    totals: dict[str, dict[str, Any]] = {}
    for buy in buys:
        entry = totals.setdefault(buy.currency, {"currency": buy.currency, "revenue": 0.0, "orders": 0})
        entry["revenue"] += float(buy.amount)
        entry["orders"] += 1
    return list(totals.values())


def segment_of(state: State, as_of: datetime, company: Mapping[str, Decimal], settings: SegmentSettings,
               windows: Windows) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The client's segment and its inputs as of an instant; no segment for a client merged into another."""
    if state.get("merged_into"):
        return None, {}
    hot = state["hot_signal_at"]
    segment, inputs = judge(buys_of(state), aware(hot) if hot else None, as_of, company, settings, windows)
    return {**segment, "kind": state["kind"]}, inputs


def restate(state: State, as_of: datetime, company: Mapping[str, Decimal], settings: SegmentSettings,
            windows: Windows, cause: str | None) -> ClientSegmented | None:
    """Judge the state again; when the segment changed, update the state and return the event announcing it."""
    state["totals"] = totals_of(buys_of(state)) if not state.get("merged_into") else []
    segment, inputs = segment_of(state, as_of, company, settings, windows)
    if segment is None or segment == state.get("segment"):
        return None
    seq = state["seq"] + 1
    event_id = derived_event_id(state["_id"], "segmented", seq, *sorted(segment.items()))
    event = ClientSegmented.create(
        source=SOURCE, correlation_id=cause or event_id, causation_id=cause, event_id=event_id, occurred_at=as_of,
        client_id=state["_id"], segment=segment, previous=state.get("segment"), region=state.get("region"),
        language=state.get("language"), lead_source=state.get("lead_source"), rule_version=RULE_VERSION,
        as_of=as_of, inputs=inputs,
    )
    body = event.model_dump(mode="json")
    state.update(segment=segment, seq=seq, as_of=as_of, inputs=body["inputs"], rule_version=RULE_VERSION, outbox=body)
    return event


def unsent(states: Iterable[State]) -> list[ClientSegmented]:
    """Events stored with their states whose publication was not confirmed (a crash between write and publish)."""
    return [ClientSegmented.model_validate(s["outbox"]) for s in states if s.get("outbox")]
