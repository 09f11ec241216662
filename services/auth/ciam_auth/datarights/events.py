"""Kafka entrypoints of the data-rights capability (ciam_shared.handlers: each handler runs in
its record's inbox transaction).

- `auth.privacy-requests` on PRIVACY_REQUESTS: auth answers its own part of an export, like
  every other service.
- `auth.privacy-replies` on PRIVACY_REPLIES: the parts of exports and the confirmations of
  erasures, from every service.
"""

from __future__ import annotations

from typing import Annotated

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_auth.context import AuthContext
from ciam_auth.datarights.service import auth_part, deletions, exports
from ciam_shared.events import DataExportPart, DataExportRequested, ErasureConfirmed
from ciam_shared.handlers import Context, Session, handles, inbox_subscriber, provide_parts
from ciam_shared.topics import PRIVACY_REPLIES, PRIVACY_REQUESTS

REQUESTS_GROUP = "auth.privacy-requests"
REPLIES_GROUP = "auth.privacy-replies"
# The capability's own key in the broker's context (no dot: Context reads it as a path).
HANDLING = "ciam_auth_datarights"

Parts = Annotated[AuthContext, Context(HANDLING)]


async def on_data_export_requested(data: DataExportRequested, session: Session, ctx: Parts) -> None:
    """Auth's own part of an export, answered on the replies topic like the others'."""
    await auth_part.answer_export(session, ctx, data)


async def on_data_export_part(data: DataExportPart, session: Session, ctx: Parts) -> None:
    """A service's part: kept, and the archive made once every part is in."""
    await exports.receive_part(session, ctx, data)


async def on_erasure_confirmed(data: ErasureConfirmed, session: Session, ctx: Parts) -> None:
    """A service erased a deleted subject: its step of the deletion request is done."""
    await deletions.confirm(session, ctx, data)


def subscribe(
    broker: KafkaBroker,
    *,
    prefix: str,
    sessions: async_sessionmaker[AsyncSession],
    ctx: AuthContext,
) -> None:
    provide_parts(broker, ctx, key=HANDLING)
    requests = inbox_subscriber(
        broker,
        topic=PRIVACY_REQUESTS,
        prefix=prefix,
        group_id=REQUESTS_GROUP,
        sessions=sessions,
        description="Data export requests: auth answers its own part.",
    )
    handles(requests, DataExportRequested)(on_data_export_requested)
    replies = inbox_subscriber(
        broker,
        topic=PRIVACY_REPLIES,
        prefix=prefix,
        group_id=REPLIES_GROUP,
        sessions=sessions,
        description="Parts of data exports and confirmations of erasures, from every service.",
    )
    handles(replies, DataExportPart)(on_data_export_part)
    handles(replies, ErasureConfirmed)(on_erasure_confirmed)
