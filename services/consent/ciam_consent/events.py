"""Kafka entrypoints of the consent service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent import service
from ciam_shared.broker import subscribe_idempotent
from ciam_shared.events import CloudEvent, UserRegistered
from ciam_shared.service import ServiceRuntime
from ciam_shared.topics import IDENTITY_EVENTS

IDENTITY_GROUP = "consent.identity-events"


def register_subscribers(runtime: ServiceRuntime) -> None:
    async def on_user_registered(session: AsyncSession, event: CloudEvent[UserRegistered]) -> None:
        await service.learn_subject(
            session, subject_id=event.data.subject_id, registered_at=event.data.registered_at
        )

    subscribe_idempotent(
        runtime.broker,
        topic=IDENTITY_EVENTS,
        prefix=runtime.topic_prefix,
        group_id=IDENTITY_GROUP,
        sessions=runtime.sessions,
        handlers={UserRegistered: on_user_registered},
    )
