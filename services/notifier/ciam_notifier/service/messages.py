"""Marketing messages, failing closed: nothing leaves for a subject whose consent for the
purpose and channel is withdrawn or unknown, and nothing leaves while the notifier's consent
view is behind the broker (the message is held, not sent, not dropped).

Checked twice: when asked (a suppressed or non-consenting subject is refused at once), and
right before sending (after `settle_seconds`, with the view caught up with the broker now).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_consent_sdk import ConsentView
from ciam_notifier import repository
from ciam_notifier.channels import Channel, ChannelError
from ciam_notifier.models import Message
from ciam_shared.db import unit_of_work, utcnow
from ciam_shared.http.problems import DomainError

log = logging.getLogger(__name__)
MESSAGES = Counter("ciam_marketing_messages_total", "Marketing message outcomes", ["outcome"])
MAX_ATTEMPTS = 10


class NotAllowed(DomainError):
    status = 409
    type_slug = "marketing-not-allowed"
    title = "The subject does not allow this message"


class UnknownChannel(DomainError):
    status = 422
    type_slug = "unknown-channel"
    title = "Unknown channel"


@dataclass(frozen=True)
class Request:
    app: str
    subject_id: uuid.UUID
    purpose: str
    channel: str
    brand: str | None
    recipient: str
    title: str | None
    body: str


async def refusal(session: AsyncSession, view: ConsentView, m: Request | Message) -> str | None:
    if await repository.suppressed(session, m.channel, m.subject_id, m.purpose) is not None:
        return f"suppressed: {m.channel} for {m.purpose}"
    if not view.allowed(m.subject_id, m.purpose, channel=m.channel, brand=m.brand):
        return f"no consent for {m.purpose} on {m.channel}"
    return None


async def request_send(
    session: AsyncSession,
    view: ConsentView,
    request: Request,
    *,
    channels: dict[str, Channel],
    settle: timedelta,
) -> Message:
    if request.channel not in channels:
        raise UnknownChannel(f"No channel `{request.channel}` is configured.")
    reason = await refusal(session, view, request)
    if reason is not None:
        MESSAGES.labels("refused").inc()
        raise NotAllowed(reason)
    now = utcnow()
    message = Message(
        id=uuid.uuid4(),
        app=request.app,
        subject_id=request.subject_id,
        purpose=request.purpose,
        channel=request.channel,
        brand=request.brand,
        recipient=request.recipient,
        title=request.title,
        body=request.body,
        status="queued",
        attempts=0,
        requested_at=now,
        not_before=now + settle,
    )
    await repository.add(session, message)
    return message


class MessageWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        view: ConsentView,
        channels: dict[str, Channel],
        poll_seconds: float,
        settle: timedelta,
    ) -> None:
        self.sessions, self.view, self.channels = sessions, view, channels
        self.poll_seconds = poll_seconds
        self.settle = settle

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("message round failed; retrying")
            await asyncio.sleep(self.poll_seconds)

    async def run_once(self) -> int:
        async with unit_of_work(self.sessions) as session:
            due = await repository.due_messages(session, utcnow(), 50)
            if not due:
                return 0
            caught_up = await self.view.caught_up()
            for message in due:
                await self._dispatch(session, message, caught_up=caught_up)
            return len(due)

    async def _dispatch(self, session: AsyncSession, message: Message, *, caught_up: bool) -> None:
        if not caught_up:
            message.status, message.reason = "held", "consent view is behind the broker"
            MESSAGES.labels("held").inc()
            return
        reason = await refusal(session, self.view, message)
        if reason is not None:
            message.status, message.reason = "refused", reason
            MESSAGES.labels("refused").inc()
            return
        message.attempts += 1
        try:
            await self.channels[message.channel].send(
                key=str(message.id), to=message.recipient, title=message.title, body=message.body
            )
        except ChannelError as exc:
            message.reason = str(exc)
            if message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
                MESSAGES.labels("failed").inc()
            else:
                message.not_before = utcnow() + timedelta(seconds=2**message.attempts)
            return
        message.status, message.reason, message.sent_at = "sent", None, utcnow()
        MESSAGES.labels("sent").inc()
