"""Kafka entrypoints of the profile service: thin adapters from records to use cases."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile.cache import ProfileCache
from ciam_profile.parts import ProfileRuntime
from ciam_profile.service import erasure, profiles, social_import
from ciam_profile.social import SocialImports
from ciam_shared.broker import Handler, subscribe_idempotent
from ciam_shared.events import (
    CloudEvent,
    EventData,
    IdentityLinked,
    IdentityUnlinked,
    SocialImportRefreshed,
    SocialImportWithdrawn,
    UserDeleted,
    UserRegistered,
)
from ciam_shared.topics import IDENTITY_EVENTS

# One group for every identity event: records are keyed by subject, so a subject's
# registration (which creates the profile) is applied before its IdentityLinked.
IDENTITY_GROUP = "profile.identity-events"


def register_subscribers(
    runtime: ProfileRuntime, cache: ProfileCache, imports: SocialImports | None
) -> None:
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

    async def import_named(session: AsyncSession, subject_id: uuid.UUID, names: list[str]) -> None:
        if imports is None or not names:
            return  # the import is off (no client for auth): logged once at start
        # ImportUnavailable (auth down, 5xx) propagates: the transaction rolls back, the
        # record is not acknowledged and comes again (subscribe_idempotent).
        fetched = await imports.fetch(subject_id)
        if fetched is None:
            return  # the account is gone: nothing to import
        values = social_import.profile_values(fetched, names)
        await social_import.import_fields(
            session, cache, subject_id, values, topic_prefix=runtime.topic_prefix
        )

    async def on_identity_linked(session: AsyncSession, event: CloudEvent[IdentityLinked]) -> None:
        await import_named(session, event.data.subject_id, event.data.imported_fields)

    async def on_social_import_refreshed(
        session: AsyncSession, event: CloudEvent[SocialImportRefreshed]
    ) -> None:
        await import_named(session, event.data.subject_id, event.data.updated_fields)

    async def on_social_import_withdrawn(
        session: AsyncSession, event: CloudEvent[SocialImportWithdrawn]
    ) -> None:
        await social_import.remove_imported(
            session,
            cache,
            event.data.subject_id,
            event.data.remove_fields,
            topic_prefix=runtime.topic_prefix,
        )

    async def on_identity_unlinked(
        session: AsyncSession, event: CloudEvent[IdentityUnlinked]
    ) -> None:
        await social_import.remove_imported(
            session,
            cache,
            event.data.subject_id,
            event.data.remove_fields,
            topic_prefix=runtime.topic_prefix,
        )

    handlers: dict[type[EventData], Handler] = {
        UserRegistered: on_user_registered,
        UserDeleted: on_user_deleted,
        IdentityLinked: on_identity_linked,
        SocialImportRefreshed: on_social_import_refreshed,
        # Removal needs no call to auth: it works with the import off too.
        SocialImportWithdrawn: on_social_import_withdrawn,
        IdentityUnlinked: on_identity_unlinked,
    }
    subscribe_idempotent(
        runtime.broker,
        topic=IDENTITY_EVENTS,
        prefix=runtime.topic_prefix,
        group_id=IDENTITY_GROUP,
        sessions=runtime.sessions,
        handlers=handlers,
    )
