"""The profile's answers to the privacy centre: its part of a data export, and the
confirmation that a deleted subject's profile is erased (both staged in the outbox, in the
transaction of the record that asked)."""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile.errors import ProfileNotFound
from ciam_profile.service import SOURCE
from ciam_profile.service.erasure import export_subject
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, DataExportRequested, ErasureConfirmed
from ciam_shared.outbox import stage
from ciam_shared.privacy import pack_part

SERVICE: Final = "profile"


async def answer_export(
    session: AsyncSession, request: DataExportRequested, *, topic_prefix: str
) -> None:
    """The profile, its traits (fields), identifiers, merges and tracked events. A subject
    without a profile gets an empty part: it is an answer, not a gap."""
    try:
        document: dict[str, Any] = await export_subject(session, request.subject_id)
    except ProfileNotFound:
        document = {"subject_id": str(request.subject_id), "profiles": [], "merges": []}
    document = {"service": SERVICE, **document}
    part = pack_part(request, SERVICE, document)
    await stage(session, CloudEvent.wrap(part, source=SOURCE), topic_prefix=topic_prefix)


async def confirm_erasure(
    session: AsyncSession, subject_id: uuid.UUID, *, topic_prefix: str
) -> None:
    confirmed = ErasureConfirmed(subject_id=subject_id, service=SERVICE, erased_at=utcnow())
    await stage(session, CloudEvent.wrap(confirmed, source=SOURCE), topic_prefix=topic_prefix)
