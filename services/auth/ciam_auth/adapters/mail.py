"""Sending one mail: over SMTP, or as an .eml file in a directory (local runs without a mail
server). The durable queue that decides when to send is `ciam_auth.queues.mailer`."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

DAY = 24 * 3600


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    # Worth sending this long (a link or a code in it expires), and never more than a day.
    valid_seconds: int = DAY


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    sender: str
    timeout: float = 10.0
    # Set: mails are written as <row id>.eml files here instead (local runs, no SMTP server).
    directory: str = ""


def new_message_id(server: SmtpServer) -> str:
    return make_msgid(domain=server.sender.rpartition("@")[2] or "localhost")


def compose(server: SmtpServer, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    return message


def send_blocking(server: SmtpServer, name: str, message: EmailMessage) -> None:
    """Blocks: run it in a thread. `name` names the file in a directory (the queue row's id,
    so a mail sent again after a crash overwrites its own file)."""
    if server.directory:
        directory = Path(server.directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.eml").write_bytes(message.as_bytes())
        return
    with smtplib.SMTP(server.host, server.port, timeout=server.timeout) as smtp:
        smtp.send_message(message)
