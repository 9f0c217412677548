"""Pure normalization of what people type: phones to E.164, emails, names, free text, locales and timestamps."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberType

MAX_TEXT_LENGTH = 200
MAX_PHONE_INPUT = 64

PHONE_TYPES: dict[int, str] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.VOIP: "voip",
}
SMS_CAPABLE_TYPES = frozenset({"mobile", "fixed_or_mobile"})

_HOUR_PADDED = re.compile(r"^(\d{4}-\d{2}-\d{2})T0(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)$")
_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn"}


@dataclass(frozen=True)
class Phone:
    """A valid phone number in E.164 with its type and country."""

    e164: str
    type: str
    country: str | None

    @property
    def sms_capable(self) -> bool:
        """Whether an SMS can reach this number (only mobiles, or numbers that may be mobile)."""
        return self.type in SMS_CAPABLE_TYPES


def clean_text(raw: object, limit: int = MAX_TEXT_LENGTH) -> str | None:
    """Collapse whitespace, drop control characters, NFC-normalize and cap length; None when nothing is left."""
    if not isinstance(raw, str):
        return None
    visible = "".join(" " if ch.isspace() else ch for ch in raw
                      if ch.isspace() or unicodedata.category(ch) not in _CONTROL)
    text = " ".join(unicodedata.normalize("NFC", visible).split())[:limit].strip()
    return text or None


def _capitalize_word(word: str) -> str:
    """Capitalize each hyphen-joined part of one word: `анна-мария` -> `Анна-Мария`."""
    return "-".join(part.capitalize() for part in word.split("-"))


def normalize_name(raw: object) -> str | None:
    """A person's name with whitespace and case cleaned, for Cyrillic and Latin alike."""
    text = clean_text(raw)
    if text is None:
        return None
    result = text
    for _ in range(3):  # case mapping of a few exotic letters settles only after a second pass
        candidate = clean_text(" ".join(_capitalize_word(word) for word in result.split(" ")))
        if candidate is None or candidate == result:
            break
        result = candidate
    return result


def name_key(name: str | None) -> str | None:
    """A key under which the same person's name written in another word order or case compares equal."""
    text = clean_text(name)
    if text is None:
        return None
    return " ".join(sorted(word.casefold() for word in text.split(" ")))


def normalize_phone(raw: object, region: str | None = None) -> Phone | None:
    """Parse a phone as people and switches write it (8…, 0…, 00…, brackets, dashes); None when not valid."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()[:MAX_PHONE_INPUT]
    digits_and_plus = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if digits_and_plus.startswith("00"):
        text = "+" + digits_and_plus[2:]
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    kind = PHONE_TYPES.get(phonenumbers.number_type(number), "other")
    return Phone(e164=e164, type=kind, country=phonenumbers.region_code_for_number(number))


def normalize_email(raw: object) -> str | None:
    """A syntactically valid email, lower-cased, with an internationalized domain in Unicode; None otherwise."""
    if not isinstance(raw, str) or len(raw) > 320:
        return None
    text = raw.strip()
    if not text:
        return None
    try:
        result = validate_email(text, check_deliverability=False)
    except (EmailNotValidError, ValueError, UnicodeError):
        return None
    return result.normalized.lower()


def region_from_locale(locale: str | None) -> str | None:
    """The ISO country of a BCP 47 locale such as `ru-RU`, or None."""
    if not locale:
        return None
    parts = re.split(r"[-_]", locale.strip())
    country = next((p for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    return country.upper() if country else None


def language_from_locale(locale: str | None) -> str | None:
    """The language subtag of a locale such as `ru-RU`, or None."""
    if not locale:
        return None
    language = re.split(r"[-_]", locale.strip())[0].lower()
    return language if 2 <= len(language) <= 3 and language.isalpha() else None


def repair_timestamp(raw: object) -> object:
    """Repair the one malformation seen from call switches, a zero-padded three-digit hour (`T010:15`)."""
    if isinstance(raw, str):
        match = _HOUR_PADDED.match(raw.strip())
        if match:
            return f"{match.group(1)}T{match.group(2)}"
    return raw
