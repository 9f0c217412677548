"""The dashboard's ASGI routes: login and logout, the four pages and their static files."""

from __future__ import annotations

from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from clientbase.http import PayloadTooLarge, read_body

from metrics.api import BadRequest, ReadApi
from metrics.dashboard import charts
from metrics.dashboard.assets import Assets
from metrics.dashboard.controls import Controls
from metrics.dashboard.i18n import LANG_COOKIE, LANGUAGES, catalog, choose
from metrics.dashboard.rotation_plan import RotationUnreachable, fetch_plan
from metrics.dashboard.session import COOKIE, Sessions
from metrics.settings import Settings

Scope = dict[str, Any]
Headers = list[tuple[bytes, bytes]]
PAGES = ("/dashboard", "/dashboard/managers", "/dashboard/sources", "/dashboard/rotation")
LOGIN, LOGOUT = "/dashboard/login", "/dashboard/logout"
SECURITY = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
             b"img-src 'self' data: blob:; frame-ancestors 'none'; form-action 'self'")]


def cookies_of(scope: Scope) -> dict[str, str]:
    """The request's cookies by name."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(dict(scope.get("headers") or []).get(b"cookie", b"").decode("latin-1"))
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


async def answer(send: Any, status: int, body: bytes, content_type: bytes, headers: Headers = ()) -> None:
    """Send a complete response with the security headers."""
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()), *SECURITY, *headers]})
    await send({"type": "http.response.body", "body": body})


async def redirect(send: Any, location: str, headers: Headers = ()) -> None:
    """A 303 See Other to a dashboard path."""
    await answer(send, 303, b"", b"text/plain", [(b"location", location.encode()), *headers])


class Dashboard:
    """Serves the pages server-rendered with jinja2; figures come from the read API's own use cases."""

    def __init__(self, settings: Settings, api: ReadApi) -> None:
        self.settings, self.api = settings, api
        self.sessions = Sessions(settings.api_token, settings.api_allow_no_token, settings.dashboard_session_hours,
                                 settings.dashboard_secure_cookie)
        self.assets = Assets(settings.assets_dir())
        self.templates = Environment(loader=PackageLoader("metrics.dashboard", "templates"),
                                     autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

    def routes(self) -> list[tuple[str, Any]]:
        """The (path, app) pairs to mount on the metrics port."""
        return [(path, self) for path in (*PAGES, LOGIN, LOGOUT, *self.assets.routes())]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """ASGI entry: static files are public, everything else needs the session cookie."""
        path, method = scope["path"], scope.get("method")
        if path.startswith("/dashboard/static/"):
            await self.static(path.rsplit("/", 1)[1], send)
        elif path == LOGIN and method == "POST":
            await self.login(scope, receive, send)
        elif path == LOGIN:
            await self.page(scope, send, "login.html", {"wrong": False})
        elif path == LOGOUT and method == "POST":
            await redirect(send, LOGIN, [(b"set-cookie", self.sessions.clear_cookie())])
        elif method != "GET":
            await answer(send, 405, b"method not allowed", b"text/plain")
        elif not self.sessions.valid(cookies_of(scope).get(COOKIE)):
            await redirect(send, LOGIN)
        else:
            await self.show(scope, send, path)

    async def static(self, name: str, send: Any) -> None:
        """One static file, or 503 naming the fix when the chart library was never installed."""
        found = self.assets.read(name)
        if found is None:
            await answer(send, 503, f"chart library missing: {self.assets.library}".encode(), b"text/plain")
            return
        body, content_type = found
        await answer(send, 200, body, content_type.encode() + b"; charset=utf-8")

    async def login(self, scope: Scope, receive: Any, send: Any) -> None:
        """Check the submitted token; a session cookie on success, the form again with 401 otherwise."""
        try:
            form = parse_qs((await read_body(receive, 8192)).decode("utf-8", "replace"))
        except PayloadTooLarge:
            form = {}
        if self.sessions.login((form.get("token") or [""])[0]):
            await redirect(send, PAGES[0], [(b"set-cookie", self.sessions.set_cookie(self.sessions.issue()))])
            return
        await self.page(scope, send, "login.html", {"wrong": True}, status=401)

    async def show(self, scope: Scope, send: Any, path: str) -> None:
        """Render one of the four pages for the request's controls."""
        query = parse_qs(scope.get("query_string", b"").decode())
        controls = Controls.parse(query, datetime.now(self.settings.zone()).date())
        t = catalog(self.language(scope, query))
        if path == "/dashboard/managers":
            context = await self.managers(controls, t)
        elif path == "/dashboard/sources":
            context = await self.sources(controls, t)
        elif path == "/dashboard/rotation":
            context = await self.rotation(controls, query)
        else:
            context = await self.overview(controls, t)
        await self.page(scope, send, f"{path.rsplit('/', 1)[1] if path != PAGES[0] else 'overview'}.html",
                        {**context, "c": controls, "signed_in": True})

    async def overview(self, c: Controls, t: dict[str, str]) -> dict[str, Any]:
        """Tiles of the latest period and the retention, customers, revenue and orders charts."""
        try:
            items = (await self.api.retention(c.query()))["items"]
        except BadRequest as error:
            return {"error": str(error), "tiles": [], "charts": [], "latest": None}
        return {"tiles": charts.tiles(items, t), "charts": charts.overview_charts(items, t),
                "latest": items[-1]["period_start"][:10] if items else None, "error": None}

    async def managers(self, c: Controls, t: dict[str, str]) -> dict[str, Any]:
        """The managers table with the measured effect of rotation, and clients held as a chart."""
        items = (await self.api.managers(c.query()))["items"]
        rows = [{**item, "label": charts.manager_label(item), "effect": charts.effect(item)} for item in items]
        return {"rows": rows, "chart": charts.managers_chart(items, t)}

    async def sources(self, c: Controls, t: dict[str, str]) -> dict[str, Any]:
        """The sources table and leads and customers per source as a chart."""
        items = (await self.api.sources(c.query()))["items"]
        rows = [{**item, "label": charts.source_label(item)} for item in items]
        return {"rows": rows, "currencies": charts.currencies(items), "chart": charts.sources_chart(items, t)}

    async def rotation(self, c: Controls, query: dict[str, list[str]]) -> dict[str, Any]:
        """The next sweep's moves per manager pair (names only for the pair asked for) and open handovers."""
        try:
            plan = await fetch_plan(self.settings, c.as_of)
        except RotationUnreachable:
            return {"plan": None, "shown": None}
        raw = (query.get("pair") or [""])[0]
        return {"plan": plan, "shown": int(raw) if raw.isdigit() else None}

    def language(self, scope: Scope, query: dict[str, list[str]]) -> str:
        """The language asked for with the switcher, kept in a cookie, else the browser's."""
        asked = (query.get("lang") or [""])[0]
        if asked in LANGUAGES:
            return asked
        accept = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
        return choose(cookies_of(scope).get(LANG_COOKIE), accept)

    async def page(self, scope: Scope, send: Any, template: str, context: dict[str, Any], status: int = 200) -> None:
        """Render a template in the request's language, remembering a language picked with the switcher."""
        query = parse_qs(scope.get("query_string", b"").decode())
        lang = self.language(scope, query)
        kept = {k: v[0] for k, v in query.items() if k in ("period", "from", "to")}

        def lang_query(code: str) -> str:
            return urlencode({**{k: v[0] for k, v in query.items() if k != "lang"}, "lang": code})

        html = self.templates.get_template(template).render(
            t=catalog(lang), lang=lang, languages=[(code, catalog(code)["language_name"]) for code in LANGUAGES],
            current=scope["path"], keep=f"?{urlencode(kept)}" if kept else "", lang_query=lang_query,
            heading=None, **{"signed_in": False, **context})
        headers: Headers = []
        if (query.get("lang") or [""])[0] in LANGUAGES:
            headers.append((b"set-cookie", f"{LANG_COOKIE}={lang}; Path=/dashboard; SameSite=Strict; "
                                           "Max-Age=31536000".encode()))
        await answer(send, status, html.encode(), b"text/html; charset=utf-8", headers)
