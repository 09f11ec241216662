"""The notifier's answers to the privacy centre: its part of a data export and the erasure of
a deleted subject, each answered on the privacy replies topic through the outbox, in the
transaction of the record that asked.

The notifier keeps no contact details (an address is asked of the auth service when a mail
leaves and never stored): its part lists the messages to the subject, the webhook deliveries
about the subject (which app received which change), its suppressions and live-stream events.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_notifier import repository
from ciam_notifier.service.delivery import SOURCE
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, DataExportRequested, ErasureConfirmed
from ciam_shared.outbox import stage
from ciam_shared.privacy import pack_part

SERVICE: Final = "notifier"


async def export_subject(session: AsyncSession, subject_id: uuid.UUID) -> dict[str, Any]:
    messages, deliveries, suppressions, streams = await repository.held_about(session, subject_id)
    return {
        "service": SERVICE,
        "subject_id": str(subject_id),
        "exported_at": utcnow(),
        "contacts": [],  # none kept: asked of the auth service when a mail leaves
        "messages": [
            {
                "id": m.id,
                "kind": m.kind,
                "app": m.app,
                "purpose": m.purpose,
                "channel": m.channel,
                "brand": m.brand,
                "title": m.title,
                "body": m.body,
                "status": m.status,
                "requested_at": m.requested_at,
                "sent_at": m.sent_at,
            }
            for m in messages
        ],
        "deliveries": [
            {
                "app": app,
                "event_id": d.event_id,
                "event_type": d.event_type,
                "status": d.status,
                "attempts": d.attempts,
                "created_at": d.created_at,
                "delivered_at": d.delivered_at,
                "payload": d.payload,
            }
            for d, app in deliveries
        ],
        "suppressions": [
            {"channel": s.channel, "purpose": s.purpose, "reason": s.reason, "since": s.since}
            for s in suppressions
        ],
        "stream_events": [
            {"event_id": e.event_id, "event_type": e.event_type, "created_at": e.created_at}
            for e in streams
        ],
    }


async def answer_export(
    session: AsyncSession, request: DataExportRequested, *, topic_prefix: str
) -> None:
    part = pack_part(request, SERVICE, await export_subject(session, request.subject_id))
    await stage(session, CloudEvent.wrap(part, source=SOURCE), topic_prefix=topic_prefix)


async def erase_subject(session: AsyncSession, subject_id: uuid.UUID, *, topic_prefix: str) -> None:
    await repository.erase_subject(session, subject_id)
    confirmed = ErasureConfirmed(subject_id=subject_id, service=SERVICE, erased_at=utcnow())
    await stage(session, CloudEvent.wrap(confirmed, source=SOURCE), topic_prefix=topic_prefix)
