"""The dashboard in headless Chromium against the running metrics and rotation services fed with a history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from dashboard_kit import COHORTS, SCREENSHOTS, chromium, client_name, seed_rotation, serve
from history_gen import generate
from metrics.app import create_app
from metrics_kit import TOKEN, metrics_live

pytestmark = [pytest.mark.browser, pytest.mark.integration]
RANGE = {"period": "month", "from": "2025-07-01", "to": "2026-07-01"}
CHARTS = ("retention", "flow", "revenue", "orders")


async def api(base: str, path: str, **params: str) -> dict[str, Any]:
    """A read API answer, the same figures the pages are drawn from."""
    async with httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {TOKEN}"}) as client:
        response = await client.get(path, params=params)
    response.raise_for_status()
    return response.json()


async def points(page: Any, chart_id: str) -> list[int]:
    """The number of points of each dataset Chart.js drew on a chart's canvas."""
    return await page.evaluate(
        "id => Chart.getChart(document.getElementById('chart-' + id)).data.datasets.map(d => d.data.length)", chart_id)


async def open_page(page: Any, url: str) -> Any:
    """Go to a page and wait until its script has formatted numbers and drawn charts."""
    response = await page.goto(url)
    await page.wait_for_selector("body[data-ready=true]")
    return response


@pytest.mark.timeout(300)
async def test_dashboard_pages_in_chromium(stack_endpoints: Any, live: Any) -> None:
    now = datetime.now(UTC)
    async with metrics_live(stack_endpoints) as metrics, serve(await live.prepared_app()) as rotation_url:
        await metrics.produce(generate(seed=11, tag=metrics.prefix.strip(".")))
        await seed_rotation(live, now)
        settings = metrics.settings.model_copy(update={"rotation_url": rotation_url,
                                                       "rotation_token": SecretStr("test-token")})
        async with serve(create_app(settings)) as base, chromium() as browser:
            await metrics.caught_up()
            await check_pages(browser, base, rotation_url, now.date())


async def check_pages(browser: Any, base: str, rotation_url: str, today: date) -> None:
    """Log in, visit every page, compare with the APIs, write screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(locale="en-US", viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    query = "&".join(f"{k}={v}" for k, v in RANGE.items())

    await page.goto(f"{base}/dashboard/managers")
    assert page.url == f"{base}/dashboard/login", "pages need the session"
    await page.fill("#token", "wrong-token")
    async with page.expect_response(f"{base}/dashboard/login") as refused:
        await page.click("button[type=submit]")
    assert (await refused.value).status == 401
    assert await page.is_visible("#login-error")
    await page.goto(f"{base}/dashboard/sources")
    assert page.url == f"{base}/dashboard/login", "a wrong token opens no session"
    await page.screenshot(path=SCREENSHOTS / "login.png")
    await page.fill("#token", TOKEN)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/dashboard")
    cookie = next(c for c in await context.cookies() if c["name"] == "cb_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert TOKEN not in page.url and "cb_dashboard" not in await page.evaluate("document.cookie")

    retention = await api(base, "/metrics/retention", **RANGE)
    await open_page(page, f"{base}/dashboard?{query}")
    assert len(retention["items"]) == 12
    for chart_id in CHARTS:
        drawn = await points(page, chart_id)
        assert drawn and all(n == 12 for n in drawn), chart_id
    latest = retention["items"][-1]
    assert await page.get_attribute("#tile-new .value", "data-value") == str(latest["new_customers"])
    assert await page.inner_text("#tile-new .value") == f"{latest['new_customers']:,}"
    assert await page.inner_text("#tile-orders .value") == f"{latest['orders']:,}"
    assert float(await page.get_attribute("#tile-crr .value", "data-value")) == latest["crr"]
    assert (await page.inner_text("#tile-crr .value")).endswith("%")
    async with page.expect_download() as download:
        await page.click("a.csv[data-table=table-orders]")
    csv_lines = (await (await download.value).path()).read_text().strip().splitlines()
    assert len(csv_lines) == 13 and csv_lines[-1].split(",")[1] == str(latest["orders"])
    await page.screenshot(path=SCREENSHOTS / "overview.png", full_page=True)

    managers = await api(base, "/metrics/managers", **{k: RANGE[k] for k in ("from", "to")})
    await open_page(page, f"{base}/dashboard/managers?{query}")
    assert await page.locator("#table-managers-figures tbody tr").count() == len(managers["items"]) > 0
    assert await points(page, "managers") == [len(managers["items"])]
    await page.click("#table-managers-figures th:nth-child(2)")
    held = [int(v) for v in await page.eval_on_selector_all(
        "#table-managers-figures tbody td:nth-child(2)", "cells => cells.map(c => c.dataset.value)")]
    assert held == sorted((i["clients_held"] for i in managers["items"]), reverse=True)
    await page.screenshot(path=SCREENSHOTS / "managers.png", full_page=True)

    sources = await api(base, "/metrics/sources", **{k: RANGE[k] for k in ("from", "to")})
    await open_page(page, f"{base}/dashboard/sources?{query}")
    assert await page.locator("#table-sources-figures tbody tr").count() == len(sources["items"]) > 0
    assert await points(page, "sources") == [len(sources["items"])] * 2
    await page.screenshot(path=SCREENSHOTS / "sources.png", full_page=True)

    await check_rotation(page, base, rotation_url, today)
    await check_languages(browser, context, base)
    await page.click("text=Log out")
    await page.goto(f"{base}/dashboard")
    assert page.url == f"{base}/dashboard/login", "logging out ends the session"
    await context.close()


async def check_rotation(page: Any, base: str, rotation_url: str, today: date) -> None:
    """The plan per manager pair, names only on demand, handovers with the overdue ones marked."""
    async with httpx.AsyncClient(base_url=rotation_url) as client:
        assert (await client.get("/rotation/plan")).status_code == 401
        plan = (await client.get("/rotation/plan", params={"as_of": today.isoformat()},
                                 headers={"authorization": "Bearer test-token"})).json()
    due = {cohort: count for cohort, _, _, count in COHORTS}["c"]
    assert plan["due"] == due and sum(p["count"] for p in plan["pairs"]) == due
    await open_page(page, f"{base}/dashboard/rotation?as_of={today.isoformat()}")
    assert await page.get_attribute("#rotation-due", "data-value") == str(due)
    assert client_name("c", 0) not in await page.content(), "names only in the drill-down"
    assert await page.locator("tr.handover").count() == 6
    assert await page.locator("tr.handover.overdue").count() == 3
    await page.click("a.drill >> nth=0")
    await page.wait_for_selector("#table-rotation-clients")
    shown = await page.eval_on_selector_all("#table-rotation-clients tbody td:first-child",
                                            "cells => cells.map(c => c.textContent)")
    assert sorted(shown) == sorted(c["name"] for c in plan["pairs"][0]["clients"])
    assert all(name.startswith("Client C") for name in shown)
    assert "@" not in await page.inner_text("main")
    await page.screenshot(path=SCREENSHOTS / "rotation.png", full_page=True)


async def check_languages(browser: Any, context: Any, base: str) -> None:
    """Labels follow the browser's language, and the switcher changes them."""
    russian = await browser.new_context(locale="ru-RU", storage_state=await context.storage_state())
    page = await russian.new_page()
    await open_page(page, f"{base}/dashboard?{'&'.join(f'{k}={v}' for k, v in RANGE.items())}")
    assert await page.get_attribute("html", "lang") == "ru"
    assert await page.inner_text("nav a[aria-current=page]") == "Обзор"
    await page.click("a[hreflang=bg]")
    await page.wait_for_selector("body[data-ready=true]")
    assert await page.get_attribute("html", "lang") == "bg"
    assert await page.inner_text("nav a[aria-current=page]") == "Преглед"
    await russian.close()
