"""A recipient's local time zone and quiet hours (DESIGN §2.3), as pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

REGION_ZONES: Mapping[str, str] = {
    "москва": "Europe/Moscow", "moscow": "Europe/Moscow", "санкт-петербург": "Europe/Moscow",
    "екатеринбург": "Asia/Yekaterinburg", "новосибирск": "Asia/Novosibirsk", "красноярск": "Asia/Krasnoyarsk",
    "иркутск": "Asia/Irkutsk", "владивосток": "Asia/Vladivostok", "хабаровск": "Asia/Vladivostok",
    "калининград": "Europe/Kaliningrad", "самара": "Europe/Samara", "омск": "Asia/Omsk",
    "софия": "Europe/Sofia", "sofia": "Europe/Sofia", "варна": "Europe/Sofia", "пловдив": "Europe/Sofia",
    "bucurești": "Europe/Bucharest", "bucuresti": "Europe/Bucharest", "bucharest": "Europe/Bucharest",
    "cluj-napoca": "Europe/Bucharest", "chișinău": "Europe/Chisinau",
}


def zone_of_phone(e164: str | None) -> str | None:
    """The zone of a number when `phonenumbers` gives exactly one."""
    if not e164:
        return None
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None


def country_of_phone(e164: str | None) -> str | None:
    """The ISO country of a number, if it parses."""
    if not e164:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def resolve_zone(*, region: str | None, phone: str | None, country: str | None,
                 country_zones: Mapping[str, str], company_zone: str) -> ZoneInfo:
    """Region's zone, else the number's single zone, else the country's default, else the company's."""
    candidates = [
        REGION_ZONES.get((region or "").strip().casefold()),
        zone_of_phone(phone),
        country_zones.get((country or country_of_phone(phone) or "").upper()),
        company_zone,
    ]
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def in_quiet_hours(moment: time, start: time, end: time) -> bool:
    """Whether a local wall-clock time falls in the quiet window (which may wrap midnight)."""
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def quiet_hours_end(now: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """When the quiet window around `now` ends (UTC), or None when `now` is outside it."""
    local = now.astimezone(zone)
    if not in_quiet_hours(local.timetz().replace(tzinfo=None), start, end):
        return None
    opens = local.replace(hour=end.hour, minute=end.minute, second=end.second, microsecond=0)
    if opens <= local:
        opens = (local + timedelta(days=1)).replace(hour=end.hour, minute=end.minute, second=end.second,
                                                    microsecond=0)
    return opens.astimezone(now.tzinfo)
