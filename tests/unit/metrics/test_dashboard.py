"""The dashboard's pieces without servers: language choice, sessions, controls, charts, and the pages' guards."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from metrics.api import ReadApi
from metrics.dashboard import charts
from metrics.dashboard.controls import Controls, default_range
from metrics.dashboard.i18n import LANGUAGES, catalog, choose, from_accept_language
from metrics.dashboard.pages import Dashboard
from metrics.dashboard.session import COOKIE, Sessions
from metrics.settings import Settings

TOKEN = "s3cret-token"


def dashboard(tmp_path: Path, **overrides: Any) -> Dashboard:
    """A dashboard whose pages under test never read figures (rotation view, login, static files)."""
    settings = Settings(api_token=TOKEN, dashboard_assets_dir=tmp_path, **overrides)

    def no_reader() -> Any:
        raise AssertionError("these pages read no figures")

    return Dashboard(settings, ReadApi(settings, no_reader))


async def call(app: Dashboard, method: str, path: str, session: str | None = None, **kwargs: Any) -> httpx.Response:
    """One request to the dashboard through ASGI, with a session cookie when given."""
    headers = {"cookie": f"{COOKIE}={session}"} if session else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics") as client:
        return await client.request(method, path, headers=headers, **kwargs)


@pytest.mark.parametrize(("header", "expected"), [
    ("bg-BG,bg;q=0.9,en;q=0.8", "bg"), ("de-DE,ro;q=0.5,ru;q=0.7", "ru"), ("fr-FR", "en"), ("", "en"),
    ("ro", "ro"), ("en;q=0.1,ru-RU;q=0.9", "ru"), ("ru;q=0,bg;q=0.2", "bg"),
])
def test_language_follows_accept_language_q_values(header: str, expected: str) -> None:
    assert from_accept_language(header) == expected


def test_switcher_cookie_wins_and_every_catalog_has_every_label() -> None:
    assert choose("ro", "ru-RU") == "ro" and choose("xx", "ru-RU") == "ru"
    labels = set(catalog("en"))
    for language in LANGUAGES:
        assert set(catalog(language)) == labels, language
        assert all(catalog(language)[key].strip() for key in labels), language
    assert catalog("ru")["nav_overview"] != catalog("bg")["nav_overview"] != catalog("en")["nav_overview"]


def test_sessions_are_signed_expire_and_follow_the_token() -> None:
    sessions = Sessions(SecretStr(TOKEN), False, hours=1, secure=False)
    value = sessions.issue(now=1_000_000)
    assert sessions.valid(value, now=1_000_001)
    assert not sessions.valid(value, now=1_000_000 + 3601)
    expiry, _, signature = value.partition(".")
    assert not sessions.valid(f"{int(expiry) + 999}.{signature}", now=1_000_001)
    assert not Sessions(SecretStr("other"), False, 1, False).valid(value, now=1_000_001)
    assert sessions.login(TOKEN) and not sessions.login("s3cret-tokeN") and not sessions.login("")
    header = sessions.set_cookie(value).decode()
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Secure" not in header


def test_controls_default_to_the_last_periods_and_reject_inverted_ranges() -> None:
    assert default_range("month", date(2026, 11, 28)) == (date(2025, 12, 1), date(2026, 12, 1))
    assert default_range("quarter", date(2026, 11, 28)) == (date(2025, 1, 1), date(2027, 1, 1))
    chosen = Controls.parse({"period": ["week"], "from": ["2026-03-01"], "to": ["2026-01-01"]}, date(2026, 11, 28))
    assert (chosen.period, chosen.first, chosen.before) == ("week", *default_range("week", date(2026, 11, 28)))
    kept = Controls.parse({"period": ["year"], "from": ["2020-01-01"], "to": ["2026-01-01"],
                           "as_of": ["2026-05-05"]}, date(2026, 11, 28))
    assert kept.query() == {"period": ["year"], "from": ["2020-01-01"], "to": ["2026-01-01"]}
    assert kept.as_of == date(2026, 5, 5)


def test_tiles_and_charts_come_from_the_latest_period() -> None:
    items = [{"period": "month", "period_start": f"2026-0{m}-01T00:00:00+00:00", "crr": 50.0 + m, "churn_rate": 5.0,
              "new_customers": m, "lost_customers": 1, "orders": 10 * m, "active_customers": 7,
              "revenue": {"EUR": 100.0 * m, **({"BGN": 3.0} if m == 2 else {})}} for m in (1, 2, 3)]
    t = catalog("en")
    tiles = {tile["id"]: tile["value"] for tile in charts.tiles(items, t)}
    assert tiles == {"crr": 53.0, "churn": 5.0, "new": 3, "lost": 1, "orders": 30, "active": 7, "revenue-EUR": 300.0}
    specs = {spec["id"]: spec for spec in charts.overview_charts(items, t)}
    assert [line["values"] for line in specs["revenue"]["series"]] == [[0, 3.0, 0], [100.0, 200.0, 300.0]]
    assert specs["orders"]["labels"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert specs["retention"]["label_format"] == "period:month"
    assert charts.effect({"rotated_conversion_90d": 40.0, "initial_conversion_90d": 25.5}) == 14.5
    assert charts.effect({"rotated_conversion_90d": None, "initial_conversion_90d": 25.5}) is None


async def test_pages_need_the_session_and_a_right_token(tmp_path: Path) -> None:
    app = dashboard(tmp_path)
    for path in ("/dashboard", "/dashboard/managers", "/dashboard/sources", "/dashboard/rotation"):
        response = await call(app, "GET", path)
        assert response.status_code == 303 and response.headers["location"] == "/dashboard/login", path
    refused = await call(app, "POST", "/dashboard/login", data={"token": "nope"})
    assert refused.status_code == 401 and "set-cookie" not in refused.headers
    assert 'id="login-error"' in refused.text
    accepted = await call(app, "POST", "/dashboard/login", data={"token": TOKEN})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/dashboard"
    cookie = accepted.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    forged = await call(app, "GET", "/dashboard/rotation", session="99999999999.abc")
    assert forged.status_code == 303


async def test_rotation_view_says_unreachable_instead_of_failing(tmp_path: Path) -> None:
    for overrides in ({}, {"rotation_url": "http://127.0.0.1:9", "rotation_timeout_s": 2}):
        app = dashboard(tmp_path, **overrides)
        session = app.sessions.issue()
        page = await call(app, "GET", "/dashboard/rotation?lang=ro", session=session)
        assert page.status_code == 200
        assert catalog("ro")["rotation_unreachable"] in page.text and '<html lang="ro">' in page.text
        assert "cb_lang=ro" in page.headers["set-cookie"]


async def test_chart_library_missing_is_a_clear_503_and_own_files_are_served(tmp_path: Path) -> None:
    app = dashboard(tmp_path)
    missing = await call(app, "GET", "/dashboard/static/chart.umd.js")
    assert missing.status_code == 503 and str(tmp_path) in missing.text
    library = tmp_path / "chart.js" / "dist" / "chart.umd.js"
    library.parent.mkdir(parents=True)
    library.write_text("window.Chart = {};")
    served = await call(app, "GET", "/dashboard/static/chart.umd.js")
    assert served.status_code == 200 and served.text == "window.Chart = {};"
    script = await call(app, "GET", "/dashboard/static/dashboard.js")
    assert script.status_code == 200 and "Intl.NumberFormat" in script.text
    assert "default-src 'self'" in script.headers["content-security-policy"]
