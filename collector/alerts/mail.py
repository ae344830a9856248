"""E-mail through an SMTP server (settings from the environment, collector/config.py)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 25
    sender: str = ""
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)


class EmailError(Exception):
    pass


def send(settings: SmtpSettings, to: str, subject: str, text: str) -> None:
    """Send one plain-text message; ``EmailError`` says why it could not be sent."""
    if not settings.configured:
        raise EmailError("SMTP is not configured: set CHATTER_SMTP_HOST and CHATTER_SMTP_FROM")
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(text)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise EmailError(f"{type(exc).__name__}: {exc}"[:500]) from None
