"""E-mail through an SMTP server (settings from the environment, collector/config.py)."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
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


# Why an e-mail cannot be sent at all: trying again would not help (alerts/delivery.py
# gives such a delivery up at its first attempt).
NOT_CONFIGURED = "SMTP is not configured: set CHATTER_SMTP_HOST and CHATTER_SMTP_FROM"


def send(
    settings: SmtpSettings, to: str, subject: str, text: str, *, within: float | None = None
) -> None:
    """Send one plain-text message; ``EmailError`` says why it could not be sent.

    ``within``: seconds for all of it (else ``settings.timeout`` for each step); at that
    deadline the connection is shut, however slowly the server answers."""
    if not settings.configured:
        raise EmailError(NOT_CONFIGURED)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(text)
    step = settings.timeout if within is None else min(settings.timeout, within)
    expired = threading.Event()
    smtp = smtplib.SMTP(timeout=step)

    def expire() -> None:
        expired.set()
        sock = getattr(smtp, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = None if within is None else threading.Timer(within, expire)
    try:
        if timer is not None:
            timer.daemon = True
            timer.start()
        with smtp:
            smtp.connect(settings.host, settings.port)
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        if expired.is_set():
            raise EmailError(f"TimeoutError: no complete answer within {within:g} s") from None
        raise EmailError(f"{type(exc).__name__}: {exc}"[:500]) from None
    finally:
        if timer is not None:
            timer.cancel()
