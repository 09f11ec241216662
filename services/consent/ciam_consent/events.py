"""Kafka entrypoints of the consent service: module-level handlers with typed payloads.

Each handler runs in the transaction of its record's inbox row (ciam_shared.handlers); the
service's parts reach it through FastStream's context.
"""

from __future__ import annotations

from typing import Annotated

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_consent.parts import ConsentParts, ConsentRuntime
from ciam_consent.service import lifecycle, privacy, queries
from ciam_shared.events import ConsentApplied, DataExportRequested, UserDeleted, UserRegistered
from ciam_shared.handlers import PARTS, Context, Session, handles, inbox_subscriber, provide_parts
from ciam_shared.topics import CONSENT_APPLIED, IDENTITY_EVENTS, PRIVACY_REQUESTS

IDENTITY_GROUP = "consent.identity-events"
APPLIED_GROUP = "consent.applied-proofs"
PRIVACY_GROUP = "consent.privacy-requests"

Parts = Annotated[ConsentParts, Context(PARTS)]


async def on_user_registered(data: UserRegistered, session: Session) -> None:
    """A new customer: the consent service learns the subject."""
    await lifecycle.learn_subject(session, data.subject_id, data.registered_at)


async def on_user_deleted(data: UserDeleted, session: Session, parts: Parts) -> None:
    """A deleted account: its consents are erased (the history keeps hashes only), and the
    privacy centre told so (also for a repeated deletion: the erasure stands)."""
    await lifecycle.erase_subject(session, parts.recorder, data.subject_id)
    await privacy.confirm_erasure(session, parts.recorder, data.subject_id)


async def on_data_export_requested(
    data: DataExportRequested, session: Session, parts: Parts
) -> None:
    """A customer asked for their data: consents, history and receipts go back."""
    await privacy.answer_export(session, parts.recorder, data)


async def on_consent_applied(data: ConsentApplied, session: Session) -> None:
    """A subscriber's proof that it applied a change."""
    await queries.record_applied(
        session,
        subscriber=data.subscriber,
        subject_id=data.subject_id,
        version=data.version,
        event_id=data.event_id,
        applied_at=data.applied_at,
    )


def subscribe(
    broker: KafkaBroker,
    *,
    prefix: str,
    sessions: async_sessionmaker[AsyncSession],
    parts: ConsentParts,
) -> None:
    """The consent service's subscribers on `broker` (the service's, or a test broker's)."""
    provide_parts(broker, parts)
    identity = inbox_subscriber(
        broker, topic=IDENTITY_EVENTS, prefix=prefix, group_id=IDENTITY_GROUP, sessions=sessions
    )
    handles(identity, UserRegistered)(on_user_registered)
    handles(identity, UserDeleted)(on_user_deleted)
    applied = inbox_subscriber(
        broker,
        topic=CONSENT_APPLIED,
        prefix=prefix,
        group_id=APPLIED_GROUP,
        sessions=sessions,
        description="Proofs that subscribers applied consent changes.",
    )
    handles(applied, ConsentApplied)(on_consent_applied)
    requests = inbox_subscriber(
        broker,
        topic=PRIVACY_REQUESTS,
        prefix=prefix,
        group_id=PRIVACY_GROUP,
        sessions=sessions,
        description="Data export requests of the privacy centre.",
    )
    handles(requests, DataExportRequested)(on_data_export_requested)


def register_subscribers(runtime: ConsentRuntime) -> None:
    subscribe(
        runtime.broker,
        prefix=runtime.topic_prefix,
        sessions=runtime.sessions,
        parts=runtime.parts,
    )
