"""Kafka entrypoint: a withdrawn (denied, expired) `social-import` consent stops the import of
its field (the consent's channel), or of every field when the consent names no channel."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.social import service
from ciam_auth.social.consent import PURPOSE
from ciam_shared.broker import subscribe_idempotent
from ciam_shared.events import (
    CloudEvent,
    ConsentChange,
    ConsentDenied,
    ConsentExpired,
    ConsentWithdrawn,
)
from ciam_shared.service import ServiceRuntime
from ciam_shared.topics import CONSENT_CHANGES

GROUP = "auth.social-import-consents"


def register_subscribers(runtime: ServiceRuntime) -> None:
    async def on_consent_ended(session: AsyncSession, event: CloudEvent[ConsentChange]) -> None:
        data = event.data
        if data.purpose != PURPOSE:
            return
        await service.withdraw_import(
            session,
            data.subject_id,
            {data.channel} if data.channel else None,
            topic_prefix=runtime.topic_prefix,
        )

    subscribe_idempotent(
        runtime.broker,
        topic=CONSENT_CHANGES,
        prefix=runtime.topic_prefix,
        group_id=GROUP,
        sessions=runtime.sessions,
        handlers={
            ConsentWithdrawn: on_consent_ended,
            ConsentDenied: on_consent_ended,
            ConsentExpired: on_consent_ended,
        },
        description="social-import consents ended: stop importing and remove imported fields.",
    )
