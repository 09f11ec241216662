"""Outgoing channels behind one interface: email over SMTP, SMS over an HTTP gateway. Each
send carries the message id as its idempotency key."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import httpx


class ChannelError(Exception):
    pass


class Channel(Protocol):
    name: str

    async def send(self, *, key: str, to: str, title: str | None, body: str) -> None: ...


class EmailChannel:
    name = "email"

    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    async def send(self, *, key: str, to: str, title: str | None, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = title or ""
        # The same message id on a retry lets mail clients and servers drop the duplicate.
        message["Message-ID"] = make_msgid(idstring=key, domain="ciam.local")
        message["X-Ciam-Message-Key"] = key
        message.set_content(body)
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"SMTP: {type(exc).__name__}: {exc}"[:300]) from exc

    def _send_blocking(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


class SmsChannel:
    name = "sms"

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url, self.http = url, http

    async def send(self, *, key: str, to: str, title: str | None, body: str) -> None:
        try:
            response = await self.http.post(
                self.url, json={"to": to, "text": body}, headers={"idempotency-key": key}
            )
        except httpx.HTTPError as exc:
            raise ChannelError(f"SMS gateway: {type(exc).__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise ChannelError(f"SMS gateway: HTTP {response.status_code}")
