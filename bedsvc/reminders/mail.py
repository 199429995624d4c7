"""Reminder mails through the operator's mail server (BEDSVC_SMTP_URL), with aiosmtplib."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bedsvc.reminders.message import ReminderText
from bedsvc.settings import RemindersSettings

# Message submission with STARTTLS, and SMTP over TLS (RFC 8314).
_DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True, slots=True)
class MailServer:
    hostname: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None
    sender: str
    timeout: float


def mail_server(reminders: RemindersSettings) -> MailServer | None:
    """The server in BEDSVC_SMTP_URL, or None when mail is off."""
    if reminders.smtp_url is None:
        return None
    parts = urlsplit(reminders.smtp_url.get_secret_value())
    return MailServer(
        hostname=parts.hostname or "localhost",
        port=parts.port or _DEFAULT_PORTS[parts.scheme],
        use_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=reminders.smtp_from,
        timeout=reminders.smtp_timeout_seconds,
    )


@dataclass(frozen=True, slots=True)
class SendError:
    """What went wrong, named by kind only (a server's text may echo addresses)."""

    error: str
    permanent: bool


def build_mail(
    server: MailServer, recipient: str, text: ReminderText, reminder_id: int
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = recipient
    message["Subject"] = text.subject
    message["Date"] = email.utils.formatdate(localtime=False)
    # The same id on every attempt: a mail program shows a retried reminder once.
    domain = email.utils.parseaddr(server.sender)[1].rpartition("@")[2] or "bedsvc.invalid"
    message["Message-ID"] = f"<reminder-{reminder_id}@{domain}>"
    message["Content-Language"] = "id"
    message.set_content(text.plain)
    message.add_alternative(text.html, subtype="html")
    return message


async def send_mail(
    server: MailServer, recipient: str, text: ReminderText, reminder_id: int
) -> SendError | None:
    """Sends one reminder; None when the server accepted it. With smtp:// STARTTLS is used
    whenever the server offers it; smtps:// speaks TLS from the start."""
    message = build_mail(server, recipient, text, reminder_id)
    try:
        await aiosmtplib.send(
            message,
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=False if server.use_tls else None,
            timeout=server.timeout,
        )
    except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPRecipientsRefused):
        # The mailbox is refused: every attempt would be. A refused sender or sign-in is the
        # operator's to fix, so those are tried again.
        return SendError("SMTP recipient refused", permanent=True)
    except aiosmtplib.SMTPResponseException as exc:
        return SendError(f"SMTP {exc.code}", permanent=False)
    except (aiosmtplib.SMTPException, OSError) as exc:
        return SendError(type(exc).__name__, permanent=False)
    return None
