"""Mail sent to the stack's SMTP port is captured by Mailpit and readable from its HTTP API."""

from __future__ import annotations

import smtplib
import time
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from clientbase.stack import StackEndpoints

pytestmark = pytest.mark.integration

ARRIVAL_TIMEOUT_S = 10.0


def find_message(api: httpx.Client, subject: str) -> dict[str, Any]:
    """The summary of the captured message with this subject, waiting a little for it to be stored."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        listing = api.get("/api/v1/messages", params={"limit": 200})
        listing.raise_for_status()
        matches = [message for message in listing.json()["messages"] if message["Subject"] == subject]
        if matches:
            return matches[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no message with subject {subject!r} reached Mailpit")
        time.sleep(0.2)


def test_mail_sent_over_smtp_is_read_back_from_the_http_api(stack_endpoints: StackEndpoints) -> None:
    subject = f"stack test {uuid.uuid4().hex}"
    message = EmailMessage()
    message["From"] = "notify@clientbase.test"
    message["To"] = "client@example.test"
    message["Subject"] = subject
    message.set_content("Your manager will call you tomorrow.")

    with smtplib.SMTP(stack_endpoints.smtp_host, stack_endpoints.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)

    with httpx.Client(base_url=stack_endpoints.mailpit_url, trust_env=False, timeout=10) as api:
        summary = find_message(api, subject)
        full = api.get(f"/api/v1/message/{summary['ID']}")
        full.raise_for_status()

    assert [address["Address"] for address in summary["To"]] == ["client@example.test"]
    assert summary["From"]["Address"] == "notify@clientbase.test"
    assert full.json()["Text"].strip() == "Your manager will call you tomorrow."
