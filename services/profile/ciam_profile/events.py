"""Kafka entrypoints of the profile service: thin adapters from records to use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile.cache import ProfileCache
from ciam_profile.service import erasure, profiles
from ciam_shared.broker import subscribe_idempotent
from ciam_shared.events import CloudEvent, UserDeleted, UserRegistered
from ciam_shared.service import ServiceRuntime
from ciam_shared.topics import IDENTITY_EVENTS

IDENTITY_GROUP = "profile.identity-events"


def register_subscribers(runtime: ServiceRuntime, cache: ProfileCache) -> None:
    async def on_user_registered(session: AsyncSession, event: CloudEvent[UserRegistered]) -> None:
        await profiles.create_profile_for_registration(
            session,
            subject_id=event.data.subject_id,
            registered_at=event.data.registered_at,
            cause_event_id=event.id,
            topic_prefix=runtime.topic_prefix,
        )

    async def on_user_deleted(session: AsyncSession, event: CloudEvent[UserDeleted]) -> None:
        await erasure.erase_subject(
            session,
            cache,
            event.data.subject_id,
            cause_event_id=event.id,
            topic_prefix=runtime.topic_prefix,
        )

    subscribe_idempotent(
        runtime.broker,
        topic=IDENTITY_EVENTS,
        prefix=runtime.topic_prefix,
        group_id=IDENTITY_GROUP,
        sessions=runtime.sessions,
        handlers={UserRegistered: on_user_registered, UserDeleted: on_user_deleted},
    )
