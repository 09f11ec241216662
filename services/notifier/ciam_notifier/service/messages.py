"""Marketing messages, failing closed: nothing leaves for a subject whose consent for the
purpose and channel is withdrawn or unknown, and nothing leaves while the notifier's consent
view is behind the broker (the message is held, not sent, not dropped).

Checked twice: when asked (a suppressed or non-consenting subject is refused at once), and
right before sending (after `settle_seconds`, with the view caught up with the broker now; see
ciam_notifier.service.sending).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent_sdk import ConsentView
from ciam_notifier import repository
from ciam_notifier.apps import declared
from ciam_notifier.channels import Channel
from ciam_notifier.models import Message
from ciam_shared.db import utcnow
from ciam_shared.http.problems import DomainError
from ciam_shared.tokens.apps import AppDirectory, check_declared

MESSAGES = Counter("ciam_messages_total", "Message outcomes", ["kind", "outcome"])
MARKETING = "marketing"


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


async def refusal(
    session: AsyncSession, view: ConsentView, m: Request | Message, apps: AppDirectory
) -> str | None:
    # Checked again when sent: the app may have been deleted or narrowed meanwhile.
    app = apps.get(m.app)
    if app is None:
        return f"app `{m.app}` is not registered"
    if m.purpose not in app.purposes:
        return f"app `{m.app}` does not declare {m.purpose}"
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
    apps: AppDirectory,
) -> Message:
    check_declared(request.app, declared(apps, request.app), [request.purpose])
    if request.channel not in channels:
        raise UnknownChannel(f"No channel `{request.channel}` is configured.")
    reason = await refusal(session, view, request, apps)
    if reason is not None:
        MESSAGES.labels(MARKETING, "refused").inc()
        raise NotAllowed(reason)
    now = utcnow()
    message_id = uuid.uuid4()
    message = Message(
        id=message_id,
        idempotency_key=f"message-{message_id}",
        kind=MARKETING,
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
