"""Fixtures of notify's integration tests: the SMTP capture server (Mailpit) from the environment or the stack."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class MailEndpoints:
    """Where the SMTP server listens and where Mailpit's HTTP API answers."""

    smtp_host: str
    smtp_port: int
    mailpit_url: str


@pytest.fixture(scope="session")
def mail_endpoints(stack_endpoints: Any) -> MailEndpoints:
    """SMTP_HOST, SMTP_PORT and MAILPIT_URL when set, else the stack's `smtp_host`, `smtp_port` and `mailpit_url`."""
    host = os.environ.get("SMTP_HOST") or getattr(stack_endpoints, "smtp_host", None)
    port = os.environ.get("SMTP_PORT") or getattr(stack_endpoints, "smtp_port", None)
    url = os.environ.get("MAILPIT_URL") or getattr(stack_endpoints, "mailpit_url", None)
    if not (host and port and url):
        raise RuntimeError("no SMTP server: set SMTP_HOST, SMTP_PORT and MAILPIT_URL, or run a stack with Mailpit")
    return MailEndpoints(str(host), int(port), str(url).rstrip("/"))
