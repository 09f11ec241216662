"""Suppression lists follow consent changes at once, in the consumer's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_notifier import repository
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, ConsentChange, ConsentStatus

CHANNELS = ("email", "sms")


async def follow_change(session: AsyncSession, event: CloudEvent[ConsentChange]) -> None:
    data = event.data
    channels = [data.channel] if data.channel in CHANNELS else ([] if data.channel else CHANNELS)
    if not channels:
        return
    if data.status is ConsentStatus.GRANTED:
        await repository.lift_suppression(session, channels, data.subject_id, data.purpose)
    else:
        await repository.suppress(
            session, channels, data.subject_id, data.purpose, data.status.value, utcnow()
        )
