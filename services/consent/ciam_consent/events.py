"""Kafka entrypoints of the consent service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_consent.parts import ConsentRuntime
from ciam_consent.service import lifecycle, queries
from ciam_consent.service.recording import Recorder
from ciam_shared.broker import subscribe_idempotent
from ciam_shared.events import CloudEvent, ConsentApplied, UserDeleted, UserRegistered
from ciam_shared.topics import CONSENT_APPLIED, IDENTITY_EVENTS

IDENTITY_GROUP = "consent.identity-events"
APPLIED_GROUP = "consent.applied-proofs"


def register_subscribers(runtime: ConsentRuntime, recorder: Recorder) -> None:
    async def on_user_registered(session: AsyncSession, event: CloudEvent[UserRegistered]) -> None:
        await lifecycle.learn_subject(session, event.data.subject_id, event.data.registered_at)

    async def on_user_deleted(session: AsyncSession, event: CloudEvent[UserDeleted]) -> None:
        await lifecycle.erase_subject(session, recorder, event.data.subject_id)

    async def on_consent_applied(session: AsyncSession, event: CloudEvent[ConsentApplied]) -> None:
        data = event.data
        await queries.record_applied(
            session,
            subscriber=data.subscriber,
            subject_id=data.subject_id,
            version=data.version,
            event_id=data.event_id,
            applied_at=data.applied_at,
        )

    subscribe_idempotent(
        runtime.broker,
        topic=IDENTITY_EVENTS,
        prefix=runtime.topic_prefix,
        group_id=IDENTITY_GROUP,
        sessions=runtime.sessions,
        handlers={UserRegistered: on_user_registered, UserDeleted: on_user_deleted},
    )
    subscribe_idempotent(
        runtime.broker,
        topic=CONSENT_APPLIED,
        prefix=runtime.topic_prefix,
        group_id=APPLIED_GROUP,
        sessions=runtime.sessions,
        handlers={ConsentApplied: on_consent_applied},
        description="Proofs that subscribers applied consent changes.",
    )
