"""Email over SMTP with aiosmtplib: one message per call, permanent (5xx) and transient failures told apart."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from notify.providers import DeliveryError

SMTP_POLICY = policy.SMTP.clone(max_line_length=998)


class Mailer:
    """Sends one email through the configured SMTP server."""

    name = "smtp"

    def __init__(self, *, host: str, port: int, sender: str, use_tls: bool = False, starttls: bool = False,
                 username: str | None = None, password: str | None = None, timeout_s: float = 15.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.use_tls, self.starttls = use_tls, starttls
        self.username, self.password, self.timeout_s = username, password, timeout_s

    def build(self, *, to: str, subject: str, body: str, message_id: str,
              headers: dict[str, str] | None = None) -> EmailMessage:
        """The MIME message, with a Message-ID derived from the request so receivers can drop a copy."""
        message = EmailMessage(policy=SMTP_POLICY)  # long link headers stay unfolded and unencoded
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        return message

    async def send(self, message: EmailMessage) -> str:
        """Hand the message to SMTP, flattened here so long link headers stay whole; 5xx raises a permanent error."""
        try:
            await aiosmtplib.send(
                message.as_bytes(policy=SMTP_POLICY), sender=self._address(message["From"]),
                recipients=[self._address(message["To"])], hostname=self.host, port=self.port,
                username=self.username, password=self.password, use_tls=self.use_tls, start_tls=self.starttls, timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            permanent = all(code >= 500 for code in codes)
            raise DeliveryError(self.name, f"recipient_refused:{codes}", permanent=permanent) from None
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryError(self.name, f"smtp_{error.code}", permanent=error.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryError(self.name, type(error).__name__, permanent=False) from None
        return self.name

    @staticmethod
    def _address(header: str) -> str:
        """The bare address of a From or To header."""
        return parseaddr(str(header))[1]
