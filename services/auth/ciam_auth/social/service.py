"""Use cases of social sign-in. They stage events; the edge commits.

Linking rules (docs/services/auth-social.md): an identity is found by (issuer, subject) only;
a new identity whose verified email names an existing account is linked only after the
customer signs in to that account and confirms; an unverified email never links and never
creates an account holding that address; a verified email takes over a password registration
of that address that nobody confirmed (takeover.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.accounts.service import accounts
from ciam_auth.context import AuthContext
from ciam_auth.models import Account
from ciam_auth.social import repository, takeover
from ciam_auth.social.errors import IdentityLinkedElsewhere, IdentityNotFound, LastWayToSignIn
from ciam_auth.social.flow import Pending
from ciam_auth.social.models import LinkedIdentity
from ciam_shared.db import new_id, utcnow
from ciam_shared.events import (
    CloudEvent,
    EmailVerified,
    EventData,
    IdentityLinked,
    IdentityUnlinked,
    SocialImportRefreshed,
    SocialImportWithdrawn,
    UserRegistered,
)
from ciam_shared.outbox import stage

SOURCE = "/ciam/auth"


async def _stage(session: AsyncSession, event: EventData, topic_prefix: str) -> None:
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)


async def returning(
    session: AsyncSession,
    issuer: str,
    subject: str,
    *,
    offered: dict[str, Any],
    topic_prefix: str,
) -> LinkedIdentity | None:
    """A returning customer: the identity is already linked. One click, no question. Fields
    the customer still allows are refreshed from the provider's new values; a withdrawn field
    is no longer in `import_fields`, so it is never imported again."""
    identity = await repository.identity_by_subject(session, issuer, subject)
    if identity is None:
        return None
    identity.last_used_at = utcnow()
    fresh = {f: offered[f] for f in identity.import_fields if f in offered}
    updated = sorted(f for f, value in fresh.items() if identity.imported.get(f) != value)
    if updated:
        identity.imported = identity.imported | fresh
        event = SocialImportRefreshed(
            subject_id=identity.account_id,
            identity_id=identity.id,
            provider=identity.provider,
            updated_fields=updated,
            refreshed_at=utcnow(),
        )
        await _stage(session, event, topic_prefix)
    return identity


async def create_account(
    session: AsyncSession,
    ctx: AuthContext,
    pending: Pending,
    *,
    account_id: uuid.UUID,
    imported: dict[str, Any],
    channel: str,
    locale: str,
    provider_name: str,
) -> LinkedIdentity:
    """A new customer: an account without a password, its first identity and the import the
    customer allowed. The account keeps the email only when the provider vouched for it, and
    then the address counts as verified. A password registration of that address that nobody
    ever confirmed gives way (takeover.py); a confirmed account is never replaced."""
    topic_prefix = ctx.topic_prefix
    email = pending.email if pending.email_verified else None
    if email is not None:
        existing = await repository.lock_account_by_email(session, email)
        if existing is not None:
            if not accounts.unproven_registration(existing):
                # Someone proved this address meanwhile: never a second account for it.
                raise IdentityLinkedElsewhere("An account with this email address exists.")
            await accounts.discard_unproven_registration(session, ctx, existing)
            ctx.mailer.stage(session, takeover.notice(ctx, email, locale, provider_name))
    now = utcnow()
    session.add(
        Account(
            id=account_id,
            email=email,
            password_hash=None,
            created_at=now,
            email_verified_at=now if email is not None else None,
            locale=locale,
        )
    )
    await session.flush()
    await _stage(
        session,
        UserRegistered(subject_id=account_id, registered_at=now, channel=channel),
        topic_prefix,
    )
    if email is not None:
        await _stage(session, EmailVerified(subject_id=account_id, verified_at=now), topic_prefix)
    return await link(session, pending, account_id=account_id, imported=imported,
                      topic_prefix=topic_prefix)  # fmt: skip


async def link(
    session: AsyncSession,
    pending: Pending,
    *,
    account_id: uuid.UUID,
    imported: dict[str, Any],
    topic_prefix: str,
) -> LinkedIdentity:
    existing = await repository.identity_by_subject(session, pending.issuer, pending.subject)
    if existing is not None:
        if existing.account_id != account_id:
            raise IdentityLinkedElsewhere("This social account is linked to another account.")
        return existing
    now = utcnow()
    identity = LinkedIdentity(
        id=new_id(),
        account_id=account_id,
        provider=pending.provider,
        issuer=pending.issuer,
        subject=pending.subject,
        import_fields=sorted(imported),
        imported=imported,
        created_at=now,
        last_used_at=now,
    )
    session.add(identity)
    await session.flush()
    event = IdentityLinked(
        subject_id=account_id,
        identity_id=identity.id,
        provider=identity.provider,
        imported_fields=identity.import_fields,
        linked_at=now,
    )
    await _stage(session, event, topic_prefix)
    return identity


async def list_identities(session: AsyncSession, account_id: uuid.UUID) -> Sequence[LinkedIdentity]:
    return await repository.identities_of(session, account_id)


async def unlink(
    session: AsyncSession, account_id: uuid.UUID, identity_id: uuid.UUID, *, topic_prefix: str
) -> None:
    # The account row is locked so two concurrent unlinks cannot each leave the other last.
    account = await repository.lock_account(session, account_id)
    identity = await repository.identity_of(session, account_id, identity_id)
    if account is None or identity is None:
        raise IdentityNotFound("No linked identity with this id on your account.")
    others = await repository.count_identities(session, account_id) - 1
    if account.password_hash is None and others == 0:
        raise LastWayToSignIn(
            "Set a password or link another social account before unlinking this one."
        )
    await session.delete(identity)
    event = IdentityUnlinked(
        subject_id=account_id,
        identity_id=identity.id,
        provider=identity.provider,
        remove_fields=list(identity.import_fields),
        unlinked_at=utcnow(),
    )
    await _stage(session, event, topic_prefix)


async def withdraw_import(
    session: AsyncSession, account_id: uuid.UUID, fields: set[str] | None, *, topic_prefix: str
) -> list[str]:
    """The `social-import` consent was withdrawn (for `fields`, or all of them): forget the
    imported values, import them no more, and tell the profile to remove them."""
    removed: set[str] = set()
    for identity in await repository.identities_of(session, account_id):
        gone = [f for f in identity.import_fields if fields is None or f in fields]
        if not gone:
            continue
        identity.import_fields = [f for f in identity.import_fields if f not in gone]
        identity.imported = {k: v for k, v in identity.imported.items() if k not in gone}
        removed |= set(gone)
        event = SocialImportWithdrawn(
            subject_id=account_id,
            identity_id=identity.id,
            provider=identity.provider,
            remove_fields=sorted(gone),
            withdrawn_at=utcnow(),
        )
        await _stage(session, event, topic_prefix)
    await session.flush()
    return sorted(removed)


async def account_of(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await repository.account(session, account_id)


async def account_for_address(session: AsyncSession, email: str) -> Account | None:
    """The account that uses this address, if any (a sign-in may offer to link to it)."""
    return await repository.account_by_email(session, email)


async def linked_identity(
    session: AsyncSession, issuer: str, subject: str
) -> LinkedIdentity | None:
    return await repository.identity_by_subject(session, issuer, subject)
