"""Labels of the dashboard in ru, bg, ro and en, and the choice of language per request."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LANGUAGES = ("en", "ru", "bg", "ro")
DEFAULT = "en"
LANG_COOKIE = "cb_lang"


@cache
def catalog(language: str) -> dict[str, str]:
    """The labels of one language, read once from the package's locales folder."""
    text = resources.files("metrics.dashboard").joinpath("locales", f"{language}.json").read_text("utf-8")
    return json.loads(text)


def from_accept_language(header: str) -> str:
    """The best supported language of an Accept-Language header, by its q-values; English otherwise."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT


def choose(cookie: str | None, accept_language: str) -> str:
    """The language the user picked with the switcher, else the browser's preference."""
    return cookie if cookie in LANGUAGES else from_accept_language(accept_language)
