"""Chart and table specifications of the pages, built from the read API's items; the browser draws them."""

from __future__ import annotations

from typing import Any

Spec = dict[str, Any]


def currencies(items: list[dict[str, Any]]) -> list[str]:
    """Every currency that appears in the items' revenue, sorted."""
    return sorted({code for item in items for code in (item.get("revenue") or {})})


def series(label: str, values: list[Any], fmt: str) -> dict[str, Any]:
    """One named line or bar series with the format of its numbers."""
    return {"label": label, "values": values, "format": fmt}


def chart(chart_id: str, title: str, kind: str, labels: list[str], label_format: str,
          lines: list[dict[str, Any]]) -> Spec:
    """A chart with its category labels and series (the same data feeds its table and CSV)."""
    return {"id": chart_id, "title": title, "type": kind, "labels": labels, "label_format": label_format,
            "series": lines}


def overview_charts(items: list[dict[str, Any]], t: dict[str, str]) -> list[Spec]:
    """CRR and churn, new and lost customers, revenue per currency and orders, one point per period."""
    labels = [item["period_start"][:10] for item in items]
    periods = f"period:{items[0]['period']}" if items else "date"
    revenue = [series(f"{t['tile_revenue']} {code}", [(item.get("revenue") or {}).get(code, 0) for item in items],
                      f"money:{code}") for code in currencies(items)]
    return [
        chart("retention", t["chart_retention"], "line", labels, periods, [
            series(t["tile_crr"], [item["crr"] for item in items], "percent"),
            series(t["tile_churn"], [item["churn_rate"] for item in items], "percent")]),
        chart("flow", t["chart_flow"], "bar", labels, periods, [
            series(t["tile_new"], [item["new_customers"] for item in items], "number"),
            series(t["tile_lost"], [item["lost_customers"] for item in items], "number")]),
        chart("revenue", t["chart_revenue"], "bar", labels, periods, revenue),
        chart("orders", t["chart_orders"], "line", labels, periods, [
            series(t["tile_orders"], [item["orders"] for item in items], "number")]),
    ]


def tiles(items: list[dict[str, Any]], t: dict[str, str]) -> list[dict[str, Any]]:
    """The figures of the range's latest period as tiles."""
    if not items:
        return []
    last = items[-1]
    shown = [("crr", t["tile_crr"], last["crr"], "percent"), ("churn", t["tile_churn"], last["churn_rate"], "percent"),
             ("new", t["tile_new"], last["new_customers"], "number"),
             ("lost", t["tile_lost"], last["lost_customers"], "number"),
             ("orders", t["tile_orders"], last["orders"], "number"),
             ("active", t["tile_active"], last["active_customers"], "number")]
    shown += [(f"revenue-{code}", f"{t['tile_revenue']} {code}", amount, f"money:{code}")
              for code, amount in sorted((last.get("revenue") or {}).items())]
    return [{"id": key, "label": label, "value": value, "format": fmt} for key, label, value, fmt in shown]


def manager_label(item: dict[str, Any]) -> str:
    """A manager's name, or its id when the roster never named it."""
    return item.get("name") or item["manager_id"]


def managers_chart(items: list[dict[str, Any]], t: dict[str, str]) -> Spec:
    """Clients held per manager."""
    return chart("managers", t["chart_managers"], "bar", [manager_label(i) for i in items], "text", [
        series(t["col_clients_held"], [i["clients_held"] for i in items], "number")])


def effect(item: dict[str, Any]) -> float | None:
    """Rotated clients' 90-day conversion minus first owners', in percentage points."""
    rotated, initial = item.get("rotated_conversion_90d"), item.get("initial_conversion_90d")
    return None if rotated is None or initial is None else round(rotated - initial, 2)


def source_label(item: dict[str, Any]) -> str:
    """A readable name of a lead source: channel, form and campaign tags."""
    parts = [item.get(k) for k in ("channel", "form_id", "utm_source", "utm_medium", "utm_campaign")]
    return " · ".join(p for p in parts if p) or "—"


def sources_chart(items: list[dict[str, Any]], t: dict[str, str]) -> Spec:
    """Leads and customers per source."""
    return chart("sources", t["chart_sources"], "bar", [source_label(i) for i in items], "text", [
        series(t["col_leads"], [i["leads"] for i in items], "number"),
        series(t["col_customers"], [i["customers"] for i in items], "number")])
