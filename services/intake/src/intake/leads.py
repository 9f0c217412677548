"""Turns submitted forms and reported calls into normalized leads, or rejects them with reasons."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from clientbase.events.inbound import CallReceived, FormSubmitted

from intake.birthdays import normalize_birthday
from intake.domain import Consent, IntakePolicy, Lead, Reason, Rejected
from intake.normalize import (
    Phone,
    clean_text,
    language_from_locale,
    normalize_email,
    normalize_name,
    normalize_phone,
    region_from_locale,
)

CALLBACK_WORDS = re.compile(
    r"перезвон|обратн\w* звон|call\s*(me\s*)?back|callback|обадете|обади се|sunați|sunati|suna-ma|sună-mă",
    re.IGNORECASE,
)


def check_honeypot(fields: Mapping[str, Any], policy: IntakePolicy) -> list[Reason]:
    """A filled honeypot field means a bot filled the form."""
    return [
        Reason("honeypot_filled", f"fields.{name}", "a field hidden from people was filled")
        for name in policy.honeypot_fields if clean_text(fields.get(name))
    ]


def check_usable_contact(lead: Lead, fields: Mapping[str, str | None]) -> None:
    """A lead needs a valid phone or a valid email; raise Rejected with per-field details otherwise."""
    if lead.phones or lead.emails:
        return
    reasons = [Reason("no_usable_contact", None, "no valid phone and no valid email")]
    for name, value in fields.items():
        message = "missing" if not clean_text(value) else "not a valid " + ("email" if "email" in name else "phone")
        reasons.append(Reason("no_usable_contact", name, message))
    raise Rejected(reasons, lead.lead_event_id)


def lead_from_form(form: FormSubmitted, policy: IntakePolicy) -> Lead:
    """Normalize a submitted form into a lead, or raise Rejected."""
    fields = form.fields.model_dump()
    if reasons := check_honeypot(fields, policy):
        raise Rejected(reasons, form.event_id)
    region = region_from_locale(form.locale) or policy.default_region
    phone = normalize_phone(form.fields.phone, region)
    email = normalize_email(form.fields.email)
    source_ref = f"form:{form.form_id}"
    consents = tuple(
        Consent(c.channel, address, c.granted, c.text, c.text_version, form.occurred_at, form.client_ip, source_ref)
        for c in form.consents
        if (address := _consent_address(c.channel, phone, email))
    )
    utm = {k: v for k, v in form.utm.model_dump().items() if isinstance(v, str) and v}
    comment = clean_text(form.fields.comment, limit=2000) or ""
    birthday, warning = normalize_birthday(fields.get("birthday"), form.occurred_at.date())
    lead = Lead(
        lead_event_id=form.event_id, occurred_at=form.occurred_at, source_ref=source_ref,
        source={"channel": "form", "form_id": form.form_id, "utm": utm},
        phones=(phone,) if phone else (), emails=(email,) if email else (),
        name=normalize_name(form.fields.name), original_name=form.fields.name,
        company=clean_text(form.fields.company), position=clean_text(form.fields.position),
        region=clean_text(form.fields.region), locale=clean_text(form.locale),
        language=language_from_locale(form.locale), consents=consents,
        callback_requested=form.form_id in policy.callback_form_ids or bool(CALLBACK_WORDS.search(comment)),
        birthday=birthday, warnings=(warning,) if warning else (),
    )
    check_usable_contact(lead, {"fields.phone": form.fields.phone, "fields.email": form.fields.email})
    return lead


def _consent_address(channel: str, phone: Phone | None, email: str | None) -> str | None:
    """The contact point a consent is about; SMS consent only counts for a number that can get SMS."""
    if channel == "sms":
        return phone.e164 if phone and phone.sms_capable else None
    return email


def lead_from_call(call: CallReceived, policy: IntakePolicy) -> Lead:
    """Normalize a call into a lead about the other party (caller when inbound, callee when outbound)."""
    region = call.default_region or policy.default_region
    inbound = call.direction == "inbound"
    raw_client, raw_ours = (call.caller, call.callee) if inbound else (call.callee, call.caller)
    phone = normalize_phone(raw_client, region)
    ours = normalize_phone(raw_ours, region)
    source = {"channel": "call", "call_id": call.call_id, "called_number": ours.e164 if ours else None}
    lead = Lead(
        lead_event_id=call.event_id, occurred_at=call.occurred_at, source_ref=f"call:{call.call_id}",
        source=source, phones=(phone,) if phone else (),
        missed_inbound=inbound and call.status in ("missed", "voicemail"), manager_id=call.manager_id,
    )
    check_usable_contact(lead, {"caller" if inbound else "callee": raw_client})
    return lead
