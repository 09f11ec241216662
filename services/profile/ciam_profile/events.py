"""Kafka entrypoints of the profile service: module-level handlers with typed payloads, thin
adapters from records to use cases.

Each handler runs in the transaction of its record's inbox row (ciam_shared.handlers); what it
needs of the running service (`Handling`) reaches it through FastStream's context.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_profile.cache import ProfileCache
from ciam_profile.parts import ProfileRuntime
from ciam_profile.service import erasure, privacy, profiles, social_import
from ciam_profile.social import SocialImports
from ciam_shared.events import (
    DataExportRequested,
    IdentityLinked,
    IdentityUnlinked,
    SocialImportRefreshed,
    SocialImportWithdrawn,
    UserDeleted,
    UserRegistered,
)
from ciam_shared.handlers import (
    PARTS,
    Context,
    Event,
    Session,
    handles,
    inbox_subscriber,
    provide_parts,
)
from ciam_shared.topics import IDENTITY_EVENTS, PRIVACY_REQUESTS

# One group for every identity event: records are keyed by subject, so a subject's
# registration (which creates the profile) is applied before its IdentityLinked.
IDENTITY_GROUP = "profile.identity-events"
PRIVACY_GROUP = "profile.privacy-requests"


@dataclass(frozen=True)
class Handling:
    """What the profile's handlers need of the running service. `imports` None: the social
    import is off (no client for auth), logged once at start."""

    cache: ProfileCache
    imports: SocialImports | None
    topic_prefix: str


Parts = Annotated[Handling, Context(PARTS)]


async def on_user_registered(
    data: UserRegistered, session: Session, event: Event, parts: Parts
) -> None:
    """A new customer: an empty profile."""
    await profiles.create_profile_for_registration(
        session,
        subject_id=data.subject_id,
        registered_at=data.registered_at,
        cause_event_id=event.id,
        topic_prefix=parts.topic_prefix,
    )


async def on_user_deleted(data: UserDeleted, session: Session, event: Event, parts: Parts) -> None:
    """A deleted account: its profile is erased, and the privacy centre told so."""
    await erasure.erase_subject(
        session,
        parts.cache,
        data.subject_id,
        cause_event_id=event.id,
        topic_prefix=parts.topic_prefix,
    )
    await privacy.confirm_erasure(session, data.subject_id, topic_prefix=parts.topic_prefix)


async def on_data_export_requested(
    data: DataExportRequested, session: Session, parts: Parts
) -> None:
    """A customer asked for their data: the profile's part goes back to the privacy centre."""
    await privacy.answer_export(session, data, topic_prefix=parts.topic_prefix)


async def on_identity_linked(data: IdentityLinked, session: Session, parts: Parts) -> None:
    """A social identity linked: the fields the customer chose are imported."""
    await _import_named(session, parts, data.subject_id, data.imported_fields)


async def on_social_import_refreshed(
    data: SocialImportRefreshed, session: Session, parts: Parts
) -> None:
    """Fresh values at the provider: the imported fields follow."""
    await _import_named(session, parts, data.subject_id, data.updated_fields)


async def on_social_import_withdrawn(
    data: SocialImportWithdrawn, session: Session, parts: Parts
) -> None:
    """The import's consent ended: the imported fields go. No call to auth: it works with the
    import off too."""
    await social_import.remove_imported(
        session, parts.cache, data.subject_id, data.remove_fields, topic_prefix=parts.topic_prefix
    )


async def on_identity_unlinked(data: IdentityUnlinked, session: Session, parts: Parts) -> None:
    """A social identity unlinked: the fields it imported go."""
    await social_import.remove_imported(
        session, parts.cache, data.subject_id, data.remove_fields, topic_prefix=parts.topic_prefix
    )


async def _import_named(
    session: AsyncSession, parts: Handling, subject_id: uuid.UUID, names: list[str]
) -> None:
    if parts.imports is None or not names:
        return  # the import is off (no client for auth): logged once at start
    # ImportUnavailable (auth down, 5xx) propagates: the transaction rolls back, the
    # record is not acknowledged and comes again (ciam_shared.handlers).
    fetched = await parts.imports.fetch(subject_id)
    if fetched is None:
        return  # the account is gone: nothing to import
    values = social_import.profile_values(fetched, names)
    await social_import.import_fields(
        session, parts.cache, subject_id, values, topic_prefix=parts.topic_prefix
    )


def subscribe(
    broker: KafkaBroker,
    *,
    prefix: str,
    sessions: async_sessionmaker[AsyncSession],
    handling: Handling,
) -> None:
    """The profile service's subscribers on `broker` (the service's, or a test broker's)."""
    provide_parts(broker, handling)
    identity = inbox_subscriber(
        broker, topic=IDENTITY_EVENTS, prefix=prefix, group_id=IDENTITY_GROUP, sessions=sessions
    )
    handles(identity, UserRegistered)(on_user_registered)
    handles(identity, UserDeleted)(on_user_deleted)
    handles(identity, IdentityLinked)(on_identity_linked)
    handles(identity, SocialImportRefreshed)(on_social_import_refreshed)
    handles(identity, SocialImportWithdrawn)(on_social_import_withdrawn)
    handles(identity, IdentityUnlinked)(on_identity_unlinked)
    requests = inbox_subscriber(
        broker, topic=PRIVACY_REQUESTS, prefix=prefix, group_id=PRIVACY_GROUP, sessions=sessions
    )
    handles(requests, DataExportRequested)(on_data_export_requested)


def register_subscribers(
    runtime: ProfileRuntime, cache: ProfileCache, imports: SocialImports | None
) -> None:
    subscribe(
        runtime.broker,
        prefix=runtime.topic_prefix,
        sessions=runtime.sessions,
        handling=Handling(cache, imports, runtime.topic_prefix),
    )
