"""Contact addresses for the platform's own services (the internal contacts API)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import Account
from ciam_auth.oidc.errors import AccountNotFound
from ciam_auth.oidc.repository import accounts


async def contact(db: AsyncSession, subject_id: uuid.UUID) -> tuple[Account, str]:
    """The account and its address; AccountNotFound when it is gone or has no address."""
    account = await accounts.account(db, subject_id)
    if account is None:
        raise AccountNotFound("No account with this subject id (it may have been deleted).")
    if account.email is None:  # a social-only account whose provider vouched for no address
        raise AccountNotFound("This account has no email address.")
    return account, account.email
