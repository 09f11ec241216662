"""Whether a pending link may be confirmed by a link mailed to the existing account (the
routes are in api_mail_link.py). See that module for the rules."""

from __future__ import annotations

import uuid
from typing import Any

from ciam_auth.models import Account
from ciam_auth.social import repository
from ciam_auth.social.flow import Pending
from ciam_shared.service import ServiceRuntime

SEND = "/login/social/continue/mail"
CONFIRM = "/login/social/confirm"


async def account_of(runtime: ServiceRuntime[Any], pending: Pending) -> Account | None:
    if pending.account_id is None:
        return None
    async with runtime.sessions() as db:  # a read: nothing to commit
        return await repository.account(db, uuid.UUID(pending.account_id))


def eligible(pending: Pending, account: Account | None) -> bool:
    """Only the signed-out proof of an existing account found by its verified email, and
    never for an account with TOTP: a mailbox plus a provider account must not stand in for
    the password and the second factor (the customer signs in to link instead). Never for an
    account whose address was not verified: the mailbox proves nothing about whoever set its
    password (pre-hijacking: such a registration is taken over instead, takeover.py)."""
    return (
        pending.kind == "link"
        and pending.mode == "signin"
        and pending.email_verified
        and account is not None
        and account.email is not None
        and account.email_verified_at is not None
        and account.email == pending.email
        and not account.totp_enabled
    )


async def offered(runtime: ServiceRuntime[Any], pending: Pending) -> bool:
    return eligible(pending, await account_of(runtime, pending))
