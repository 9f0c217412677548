"""Masks personal data (phones, emails) so that logs never carry them in full."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

EMAIL_PATTERN = re.compile(r"([\w.+-]{1,64})@([\w-]+(?:\.[\w-]+)*)", re.UNICODE)
PHONE_PATTERN = re.compile(r"(?<![\w])\+?\d[\d\s().-]{5,}\d(?![\w])")
MIN_PHONE_DIGITS = 9


def mask_email(email: str) -> str:
    """Keep the first character of the local part and the domain: i***@mail.ru."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(phone: str) -> str:
    """Keep the country prefix and the last two digits: +79*******67."""
    digits = [ch for ch in phone if ch.isdigit()]
    if len(digits) < 5:
        return "***"
    head = ("+" if phone.strip().startswith("+") else "") + "".join(digits[:2])
    return head + "*" * (len(digits) - 4) + "".join(digits[-2:])


def mask_name(name: str) -> str:
    """Keep each word's initial: Иван Иванов -> И. И."""
    return " ".join(f"{word[:1]}." for word in name.split()) or "***"


def mask_text(text: str) -> str:
    """Mask every email and phone-looking run inside free text."""
    text = EMAIL_PATTERN.sub(lambda m: mask_email(m.group(0)), text)
    return PHONE_PATTERN.sub(_mask_phone_match, text)


def _mask_phone_match(match: re.Match[str]) -> str:
    """Mask a phone-looking run only when it has as many digits as a phone number."""
    found = match.group(0)
    return mask_phone(found) if sum(ch.isdigit() for ch in found) >= MIN_PHONE_DIGITS else found


def _is_identifier_key(key: str) -> bool:
    """Ids, times and event names are not personal data and are left as they are."""
    return key in {"timestamp", "level", "logger", "service"} or key.endswith(("_id", "_at", "_ids"))


def mask_value(key: str, value: Any) -> Any:
    """Mask one logged value according to its key and content."""
    if isinstance(value, str):
        lowered = key.lower()
        if _is_identifier_key(lowered):
            return value
        if "email" in lowered:
            return mask_email(value)
        if "phone" in lowered or lowered in {"caller", "callee", "e164"}:
            return mask_phone(value)
        if lowered in {"name", "full_name", "contact_name"}:
            return mask_name(value)
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(key, item) for item in value]
    return value


def mask_event_dict(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor that masks personal data in every field of a log line."""
    return {key: mask_value(key, value) for key, value in event_dict.items()}
