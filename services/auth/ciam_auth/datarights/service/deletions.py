"""Delete my account as a tracked request: one step per service, each confirmed over Kafka.

`open_request` runs in the deletion's own transaction (accounts.delete_account): the request
row, its steps (auth's confirmed at once: its rows go in this very transaction), and the mail
with the status link commit together with the account's removal and `UserDeleted`. Each other
service answers `ErasureConfirmed` once its erasure committed; the last one completes the
request and sends the closing mail, after which the address is forgotten.

The status page is reached without a session (the account is gone) through a random 256-bit
token in the link: only its SHA-256 is stored, so neither the table nor a guess yields a link.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.context import AuthContext
from ciam_auth.datarights.errors import DeletionNotFound
from ciam_auth.datarights.models import DeletionRequest, DeletionStep
from ciam_auth.datarights.repository import requests as repository
from ciam_auth.datarights.service import mails
from ciam_auth.models import Account
from ciam_shared.db import utcnow
from ciam_shared.events import PRIVACY_SERVICES, ErasureConfirmed

OWN_STEP = "auth"


def status_path(token: str) -> str:
    return f"/privacy/deletion/{token}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class StepView:
    service: str
    confirmed_at: datetime | None


@dataclass(frozen=True)
class DeletionView:
    id: uuid.UUID
    subject_id: uuid.UUID
    requested_at: datetime
    deadline_at: datetime
    completed_at: datetime | None
    steps: list[StepView]

    @property
    def pending(self) -> list[str]:
        return [s.service for s in self.steps if s.confirmed_at is None]


async def open_request(
    session: AsyncSession, ctx: AuthContext, account: Account, locale: str
) -> str:
    """Track the deletion of `account` (called before its rows go). Returns the status token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    deadline = now + timedelta(days=ctx.settings.erasure_deadline_days)
    request = DeletionRequest(
        subject_id=account.id,
        token_hash=_hash(token),
        email=account.email,
        locale=locale,
        requested_at=now,
        deadline_at=deadline,
    )
    await repository.add(session, request)
    await repository.add(
        session,
        *(
            DeletionStep(
                request_id=request.id,
                service=service,
                confirmed_at=now if service == OWN_STEP else None,
            )
            for service in PRIVACY_SERVICES
        ),
    )
    if account.email is not None:
        ctx.mailer.stage(
            session,
            mails.deletion_requested(ctx, account.email, locale, status_path(token), deadline),
        )
    return token


async def confirm(session: AsyncSession, ctx: AuthContext, confirmed: ErasureConfirmed) -> None:
    """A service erased the subject. A subject without a tracked request (an unproven
    registration discarded at a social sign-in) is nobody's request: nothing to record."""
    request = await repository.deletion_of_subject(session, confirmed.subject_id, for_update=True)
    if request is None:
        return
    await repository.confirm_step(session, request.id, confirmed.service, confirmed.erased_at)
    steps = await repository.steps_of(session, [request.id])
    if request.completed_at is None and all(s.confirmed_at is not None for s in steps):
        request.completed_at = utcnow()
        if request.email is not None:
            ctx.mailer.stage(session, mails.deletion_done(ctx, request.email, request.locale))
        request.email = None  # the last use of the address


def _view(request: DeletionRequest, steps: list[DeletionStep]) -> DeletionView:
    order = {s: i for i, s in enumerate(PRIVACY_SERVICES)}
    mine = sorted((s for s in steps if s.request_id == request.id), key=lambda s: order[s.service])
    return DeletionView(
        request.id,
        request.subject_id,
        request.requested_at,
        request.deadline_at,
        request.completed_at,
        [StepView(s.service, s.confirmed_at) for s in mine],
    )


async def status_of(session: AsyncSession, token: str) -> DeletionView:
    request = await repository.deletion_by_token_hash(session, _hash(token))
    if request is None:
        raise DeletionNotFound("No deletion request has this link.")
    return _view(request, list(await repository.steps_of(session, [request.id])))


async def open_requests(session: AsyncSession, limit: int = 500) -> list[DeletionView]:
    """Deletions not yet confirmed by every service, the nearest deadline first."""
    requests = list(await repository.open_deletions(session, limit))
    steps = list(await repository.steps_of(session, [r.id for r in requests]))
    return [_view(r, steps) for r in requests]
