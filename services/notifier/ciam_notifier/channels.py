"""Outgoing channels behind one interface: email over SMTP, SMS over an HTTP gateway.

Each send carries an idempotency key: the email's Message-ID, the SMS gateway's
`Idempotency-Key` header (the gateway answers a repeated key without sending again, as real
gateways do). SMTP cannot dedupe, so the email channel calls `commit_point` right before the
final dot (see ciam_notifier.smtp); the SMS channel does not need it.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from typing import Protocol

import httpx

from ciam_notifier import smtp
from ciam_notifier.smtp import CommitPoint, Fenced


class ChannelError(Exception):
    """The message certainly did not leave: safe to try again (unless `permanent`)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class InDoubt(Exception):
    """The message may have left: it must not be sent again."""


__all__ = ["Channel", "ChannelError", "EmailChannel", "Fenced", "InDoubt", "SmsChannel"]


class Channel(Protocol):
    name: str

    async def send(
        self, *, key: str, to: str, title: str | None, body: str, commit_point: CommitPoint
    ) -> None: ...


def message_id(key: str) -> str:
    """Stable across retries and restarts (make_msgid would add a time and a random part)."""
    return f"<{key}@ciam.local>"


class EmailChannel:
    name = "email"

    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    async def send(
        self, *, key: str, to: str, title: str | None, body: str, commit_point: CommitPoint
    ) -> None:
        if any(c in to for c in "\r\n<>"):  # would inject SMTP commands or headers
            raise ChannelError("SMTP: the address is malformed", permanent=True)
        message = EmailMessage(policy=SMTP)
        try:
            message["From"] = self.sender
            message["To"] = to
            message["Subject"] = title or ""
            message["Message-ID"] = message_id(key)
            message["X-Ciam-Message-Key"] = key
            message.set_content(body, cte="quoted-printable")
        except ValueError as exc:  # e.g. a line break in the title
            raise ChannelError(f"SMTP: cannot build the message: {exc}", permanent=True) from exc
        try:
            await smtp.send(
                self.host,
                self.port,
                sender=self.sender,
                recipient=to,
                data=message.as_bytes(),
                commit_point=commit_point,
                timeout=self.timeout,
            )
        except smtp.SmtpRefused as exc:
            raise ChannelError(f"SMTP: {exc}", permanent=exc.permanent) from exc
        except smtp.SmtpInDoubt as exc:
            raise InDoubt(f"SMTP: {exc}") from exc


class SmsChannel:
    name = "sms"

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url, self.http = url, http

    async def send(
        self, *, key: str, to: str, title: str | None, body: str, commit_point: CommitPoint
    ) -> None:
        # No commit point: a repeated POST with the same key is answered, not sent again.
        try:
            response = await self.http.post(
                self.url, json={"to": to, "text": body}, headers={"idempotency-key": key}
            )
        except httpx.HTTPError as exc:
            raise ChannelError(f"SMS gateway: {type(exc).__name__}") from exc
        if not 200 <= response.status_code < 300:
            permanent = 400 <= response.status_code < 500 and response.status_code != 429
            raise ChannelError(f"SMS gateway: HTTP {response.status_code}", permanent=permanent)
