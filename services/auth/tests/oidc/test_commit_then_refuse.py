"""The one way a refusal keeps a write (ciam_auth/transactions.py): a revocation made before an
error answer is committed; any other error rolls the request back."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from ciam_auth.models import RefreshToken
from ciam_auth.oidc.errors import OAuthError, invalid_grant
from ciam_auth.oidc.repository import tokens
from ciam_auth.transactions import CommitThenRefuse, transaction
from ciam_shared.db import unit_of_work, utcnow

from .conftest import AuthService


async def _live_family(auth: AuthService) -> uuid.UUID:
    client = await auth.client()
    account = await auth.account()
    family = uuid.uuid4()
    async with unit_of_work(auth.sessions) as session:
        await tokens.new_refresh_token(
            session,
            family_id=family,
            client_id=client.client_id,
            account_id=account,
            session_id=None,
            scope="openid",
            auth_time=utcnow(),
            ttl_s=3600,
        )
    return family


async def _revoked(auth: AuthService, family: uuid.UUID) -> bool:
    async with auth.sessions() as session:
        revoked_at = await session.scalar(
            select(RefreshToken.revoked_at).where(RefreshToken.family_id == family)
        )
    return revoked_at is not None


async def test_a_refusal_that_revokes_commits_the_revocation_then_answers_its_error(
    auth: AuthService,
) -> None:
    family = await _live_family(auth)
    steps: list[str] = []

    async def after_commit() -> None:
        steps.append("after commit: revoked" if await _revoked(auth, family) else "not committed")

    with pytest.raises(OAuthError) as refused:
        async with transaction(auth.sessions) as session:
            await tokens.revoke_family(session, family)
            raise CommitThenRefuse(invalid_grant("reused"), after_commit=after_commit)
    assert refused.value.error == "invalid_grant"
    assert steps == ["after commit: revoked"]
    assert await _revoked(auth, family)


async def test_any_other_error_rolls_the_revocation_back(auth: AuthService) -> None:
    family = await _live_family(auth)
    with pytest.raises(OAuthError):
        async with transaction(auth.sessions) as session:
            await tokens.revoke_family(session, family)
            raise invalid_grant("refused")
    assert not await _revoked(auth, family)
