"""Account emails, durable: staged as an `outgoing_mail` row in the transaction of the state
they belong to (the email token, the account), sent over SMTP by a sender loop afterwards.

A rollback sends nothing (no mail ever names a token that was rolled back); a commit always
sends, even across a crash or a restart (the row waits in its table). Sending outside the
response path keeps the answer's timing the same whether or not a mail goes out (no account
enumeration by timing). The loop is woken right after the commit and polls too (worker.py).

Delivery is at least once: a sender that dies after the SMTP server took a mail but before it
deleted the row sends it again when the lease runs out, with the same Message-ID. A transient
failure (no connection, a 4xx answer) is retried with backoff and jitter; a permanent one (5xx)
or the last attempt gives the mail up with a log line naming the row, never the address.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_auth.adapters.mail import DAY, Mail, SmtpServer, compose, new_message_id, send_blocking
from ciam_auth.adapters.worker import Retry, Worker
from ciam_auth.models import OutgoingMail
from ciam_auth.queues import repository as queues
from ciam_shared.db import after_commit, new_id, unit_of_work, utcnow

log = logging.getLogger(__name__)

BATCH = 20
MAIL_RETRY = Retry()


class Mailer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        server: SmtpServer,
        *,
        retry: Retry = MAIL_RETRY,
        lease_seconds: float = 300.0,
        poll_seconds: float = 5.0,
    ) -> None:
        self.sessions, self.server, self.retry = sessions, server, retry
        self.lease = timedelta(seconds=lease_seconds)
        self.worker = Worker("mailer", self.send_due, poll_seconds)

    def stage(self, session: AsyncSession, mail: Mail) -> None:
        """Queue `mail` in the session's transaction; the sender wakes once it commits."""
        now = utcnow()
        session.add(
            OutgoingMail(
                id=new_id(),
                recipient=mail.to,
                subject=mail.subject,
                body=mail.body,
                message_id=new_message_id(self.server),
                attempts=0,
                created_at=now,
                next_attempt_at=now,
                give_up_at=now + timedelta(seconds=min(DAY, mail.valid_seconds)),
            )
        )
        after_commit(session, self.worker.wake)

    async def run(self) -> None:
        await self.worker.run()

    async def waiting(self) -> int:
        async with self.sessions() as session:
            return await queues.mail_waiting(session)

    async def send_due(self) -> bool:
        """Claim a batch of due mails (committed at once: the lease is what keeps the other
        senders off while SMTP is slow), send each, then delete or reschedule it."""
        now = utcnow()
        async with unit_of_work(self.sessions) as session:
            claimed = await queues.claim_mail(session, now, now + self.lease, BATCH)
        for row in claimed:
            await self._deliver(row)
        return bool(claimed)

    async def _deliver(self, row: OutgoingMail) -> None:
        try:
            message = compose(self.server, row.recipient, row.subject, row.body, row.message_id)
            await asyncio.to_thread(send_blocking, self.server, row.id.hex, message)
        except (OSError, smtplib.SMTPException) as exc:
            await self._failed(row, exc)
            return
        async with unit_of_work(self.sessions) as session:
            await queues.delete_mail(session, row.id)

    async def _failed(self, row: OutgoingMail, exc: Exception) -> None:
        now = utcnow()
        when = self.retry.next_attempt(row.attempts, now)
        permanent = isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500
        permanent = permanent or isinstance(exc, smtplib.SMTPRecipientsRefused)
        async with unit_of_work(self.sessions) as session:
            if permanent or row.attempts >= self.retry.max_attempts or when >= row.give_up_at:
                await queues.delete_mail(session, row.id)
                log.error(
                    "mail %s given up after %d attempt(s): %s",
                    row.id,
                    row.attempts,
                    type(exc).__name__,
                )
                return
            await queues.retry_mail_at(session, row.id, when)
        log.warning(
            "mail %s not sent (attempt %d): %s; next try in %.0f s",
            row.id,
            row.attempts,
            type(exc).__name__,
            (when - now).total_seconds(),
        )
