"""Response shapes of the read API (DESIGN §3.2), also the schema of the rollup documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from metrics.definitions import DEFINITIONS

Money = dict[str, float]


def _d(name: str) -> Any:
    return Field(description=DEFINITIONS[name])


class RetentionItem(BaseModel):
    """The retention figures of one period."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(description="week, month, quarter or year.")
    period_start: str = Field(description="Start of the period, ISO 8601 with the company zone's offset.")
    period_end: str = Field(description="End of the period (exclusive), ISO 8601.")
    customers_start: int = _d("customers_start")
    customers_end: int = _d("customers_end")
    new_customers: int = _d("new_customers")
    lost_customers: int = _d("lost_customers")
    crr: float | None = _d("crr")
    churn_rate: float | None = _d("churn_rate")
    orders: int = _d("orders")
    revenue: Money = _d("revenue")
    revenue_total: float | None = _d("revenue")
    average_order_value: Money = _d("average_order_value")
    buyers: int = Field(description="Distinct customers who bought in the period.")
    purchase_frequency: float | None = _d("purchase_frequency")
    repeat_customer_rate: float | None = _d("repeat_customer_rate")
    days_between_purchases: float | None = _d("days_between_purchases")
    median_days_between_purchases: float | None = _d("median_days_between_purchases")
    ltv: Money | None = _d("ltv")
    active_customers: int = _d("active_customers")
    passive_customers: int = _d("passive_customers")
    actual_contact_rate: float | None = _d("actual_contact_rate")


class RetentionResponse(BaseModel):
    """GET /metrics/retention."""

    period: str
    from_: str = Field(alias="from")
    to: str
    timezone: str
    items: list[RetentionItem]


class ManagerItem(BaseModel):
    """The figures of one manager over [from, to)."""

    model_config = ConfigDict(extra="forbid")

    manager_id: str
    name: str | None = Field(description="Latest name from managers.changed.")
    clients_held: int = _d("owner")
    assigned: int = _d("assigned")
    first_sale_conversion: float | None = _d("assigned")
    rotations_in: int = _d("rotations")
    rotations_out: int = _d("rotations")
    rotated_conversion_90d: float | None = _d("rotation_effect")
    rotated_count: int = _d("rotation_effect")
    initial_conversion_90d: float | None = _d("rotation_effect")
    initial_count: int = _d("rotation_effect")
    handovers_opened: int = Field(description="handovers.opened events for the manager in [from, to).")
    handovers_overdue: int = Field(description="handovers.overdue events for the manager in [from, to).")
    activities: int = Field(description="activities.recorded events by the manager in [from, to).")


class SourceItem(BaseModel):
    """The figures of one lead source over [from, to)."""

    model_config = ConfigDict(extra="forbid")

    channel: str | None
    form_id: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    leads: int = _d("source")
    clients: int = _d("source")
    customers: int = _d("source")
    conversion: float | None = _d("source")
    revenue: Money = _d("source")


class RangeResponse(BaseModel):
    """GET /metrics/managers and GET /metrics/sources."""

    from_: str = Field(alias="from")
    to: str
    timezone: str
    items: list[dict[str, Any]]


class SegmentItem(BaseModel):
    """Clients per segment value at the end of one period (each client in its latest change before the end)."""

    period: str
    period_start: str
    period_end: str
    clients: int
    vip: int
    temperature: dict[str, int] = Field(description="cold, warm, hot")
    activity: dict[str, int] = Field(description="active, passive, lost, none (never bought)")
    kind: dict[str, int] = Field(description="person, company")
    changes: int = Field(description="Segment changes judged in the period.")


class SegmentsResponse(BaseModel):
    """GET /metrics/segments."""

    period: str
    from_: str = Field(alias="from")
    to: str
    timezone: str
    items: list[SegmentItem]


def _query(name: str, description: str, required: bool = True, enum: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **({"enum": enum} if enum else {"format": "date"})}
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the read API."""
    _, schemas = models_json_schema(
        [(m, "serialization") for m in (RetentionResponse, RetentionItem, ManagerItem, SourceItem, RangeResponse,
                                        SegmentsResponse)],
        ref_template="#/components/schemas/{model}",
    )
    dates = [_query("from", "First day (company time zone), YYYY-MM-DD."),
             _query("to", "Day after the last (exclusive), YYYY-MM-DD.")]
    errors = {"401": {"description": "Missing or wrong bearer token."},
              "422": {"description": "Bad parameters, with the reason."}}

    def get(summary: str, ref: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        ok = {"description": "OK", "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}
        return {"get": {"summary": summary, "parameters": params, "responses": {"200": ok, **errors},
                        "security": [{"bearer": []}]}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "ClientBase metrics read API", "version": "1.0.0"},
        "paths": {
            "/metrics/retention": get("Retention figures, one item per period starting in [from, to).",
                                      "RetentionResponse", [_query("period", "Period kind.", enum=[
                                          "week", "month", "quarter", "year"]), *dates]),
            "/metrics/managers": get("Per-manager figures of [from, to); items are ManagerItem.", "RangeResponse",
                                     dates),
            "/metrics/sources": get("Per-source figures of [from, to); items are SourceItem.", "RangeResponse", dates),
            "/metrics/segments": get("Segment counts at the end of each period starting in [from, to).",
                                     "SegmentsResponse", [_query("period", "Period kind.", enum=[
                                         "week", "month", "quarter", "year"]), *dates]),
        },
        "components": {"schemas": schemas.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
