"""Static files of the dashboard: its own script and styles, and the chart library from node_modules."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

CHART_LIBRARY = Path("chart.js") / "dist" / "chart.umd.js"
OWN = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
INSTALL_HINT = "run `npm install --no-package-lock --omit=dev` in services/metrics/dashboard-assets (the bootstrap does)"


class Assets:
    """Finds the files the pages load; the chart library's absence is reported, not fatal."""

    def __init__(self, node_modules: Path) -> None:
        self.library = node_modules / CHART_LIBRARY

    def check(self) -> None:
        """Log a clear error at startup when the chart library is missing."""
        if not self.library.is_file():
            log.error("metrics.dashboard_chart_library_missing", path=str(self.library), fix=INSTALL_HINT)

    def read(self, name: str) -> tuple[bytes, str] | None:
        """The bytes and content type of a static file by name, None when unknown or missing."""
        if name == "chart.umd.js":
            return (self.library.read_bytes(), "text/javascript") if self.library.is_file() else None
        if name in OWN:
            return resources.files("metrics.dashboard").joinpath("static", name).read_bytes(), OWN[name]
        return None

    def routes(self) -> list[str]:
        """The static paths to mount."""
        return [f"/dashboard/static/{name}" for name in ("chart.umd.js", *OWN)]
