"""Message templates: Jinja2 with StrictUndefined, one variant per locale (ru, bg, ro, en), English as fallback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateError, TemplateNotFound

LOCALES = ("ru", "bg", "ro", "en")
FALLBACK = "en"
BASE_CONTEXT = {"name": None, "unsubscribe_url": None, "deadline": None}


class TemplateProblem(Exception):
    """The template is unknown or a variable it needs is missing: the request fails, nothing half-rendered goes out."""


@dataclass(frozen=True)
class Rendered:
    """A rendered message: subject (email only), body and the locale used."""

    subject: str
    body: str
    locale: str


def language_of(locale: str | None) -> str:
    """The template language for a BCP 47 locale (`ru-RU` → `ru`), English when unsupported."""
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else FALLBACK


class Templates:
    """Renders the packaged templates."""

    def __init__(self) -> None:
        self.env = Environment(loader=PackageLoader("notify", "templates"), undefined=StrictUndefined,
                               autoescape=False, keep_trailing_newline=False)

    def render(self, template: str, locale: str | None, params: Mapping[str, Any]) -> Rendered:
        """Render a template in the recipient's language; raise TemplateProblem instead of a partial message."""
        language = language_of(locale)
        try:
            try:
                compiled = self.env.get_template(f"{language}/{template}.j2")
            except TemplateNotFound:
                language = FALLBACK
                compiled = self.env.get_template(f"{FALLBACK}/{template}.j2")
            text = compiled.render({**BASE_CONTEXT, **params})
        except TemplateNotFound:
            raise TemplateProblem(f"unknown template {template!r}") from None
        except TemplateError as error:
            raise TemplateProblem(f"{type(error).__name__}: {error.message}") from None
        head, _, body = text.partition("\n\n")
        subject = head.removeprefix("Subject:").strip() if head.startswith("Subject:") else ""
        return Rendered(subject, (body if subject else text).strip(), language)
