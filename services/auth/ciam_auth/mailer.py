"""Account emails over SMTP, sent by a background task after the transaction commits.

Sending outside the response path keeps the answer's timing the same whether or not a mail goes
out (no account enumeration by timing), and after the commit means no mail ever names a token
that was rolled back. A mail lost to a crash before it left is re-requested by the customer
("send the link again"); exactly-once transactional email is the notifier's work (issue 7).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_shared.db import after_commit

log = logging.getLogger(__name__)

ATTEMPTS = 3


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer:
    def __init__(
        self, host: str, port: int, sender: str, timeout: float = 10.0, directory: str = ""
    ) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.directory = Path(directory) if directory else None
        self._queue: asyncio.Queue[Mail] = asyncio.Queue(maxsize=10_000)

    def send_after_commit(self, session: AsyncSession, mail: Mail) -> None:
        after_commit(session, lambda: self.enqueue(mail))

    def enqueue(self, mail: Mail) -> None:
        try:
            self._queue.put_nowait(mail)
        except asyncio.QueueFull:
            log.error("mail queue full: a mail was dropped")

    async def run(self) -> None:
        """The sender task: one mail at a time, a few tries each; never logs the content."""
        while True:
            mail = await self._queue.get()
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    await self.send(mail)
                    break
                except (OSError, smtplib.SMTPException) as exc:
                    log.warning("SMTP send failed (attempt %d): %s", attempt, type(exc).__name__)
                    await asyncio.sleep(0.5 * attempt)

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        await asyncio.to_thread(self._send_blocking, message)

    def _send_blocking(self, message: EmailMessage) -> None:
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / f"{uuid.uuid4().hex}.eml").write_bytes(message.as_bytes())
            return
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)
