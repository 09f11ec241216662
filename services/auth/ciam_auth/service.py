"""Use cases of the auth service. They stage events; the edge commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth import repository
from ciam_auth.errors import EmailAlreadyRegistered
from ciam_auth.models import Account
from ciam_auth.passwords import hash_password
from ciam_shared.db import new_id, utcnow
from ciam_shared.events import CloudEvent, UserRegistered
from ciam_shared.outbox import stage

SOURCE = "/ciam/auth"


async def register_account(
    session: AsyncSession, *, email: str, password: str, topic_prefix: str
) -> Account:
    """Create an account and stage UserRegistered in the same transaction.

    Foundation only: the enumeration-safe flow (verification mail, same answer for a known
    address), breached-password checks and rate limits come with the auth issue (#4).
    """
    email = email.strip().lower()
    if await repository.email_taken(session, email):
        raise EmailAlreadyRegistered("An account with this email address exists.")
    account = Account(
        id=new_id(), email=email, password_hash=await hash_password(password), created_at=utcnow()
    )
    await repository.add_account(session, account)
    event = UserRegistered(subject_id=account.id, registered_at=account.created_at)
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)
    return account
