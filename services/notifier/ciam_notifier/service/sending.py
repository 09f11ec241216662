"""The message worker: marketing (failing closed) and confirmations, effectively once.

One message at a time, in three commits:
1. claim: `claimed`, with a fresh `claim_token`, committed before anything leaves;
2. email only, right before the final dot of DATA: `handed_over` (fenced by the token);
3. the outcome: `sent`, or back to `queued` with backoff, or `failed` / `cancelled`.

A worker that stops (crash, SIGKILL) leaves claims; once older than `lease`, any worker
recovers them (repository.recover_claims): `claimed` is queued again, since nothing of it was
accepted (an SMTP server discards a transaction without its final dot, the SMS gateway
answers a repeated Idempotency-Key without sending); `handed_over` counts as sent and is never
sent again. What is left: a crash between the database committing `handed_over` and the dot
reaching the kernel (no await lies between them) loses that one email, recorded as
"sent, unconfirmed". Sending one message at a time keeps at most one email in that state.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_consent_sdk import ConsentView
from ciam_notifier import repository
from ciam_notifier.channels import Channel, ChannelError, Fenced, InDoubt
from ciam_notifier.contacts import AuthContacts, ContactsUnavailable
from ciam_notifier.models import Message
from ciam_notifier.service.confirmations import KIND as CONFIRMATION
from ciam_notifier.service.confirmations import render
from ciam_notifier.service.messages import MARKETING, MESSAGES, refusal
from ciam_shared.backoff import Backoff
from ciam_shared.db import unit_of_work, utcnow
from ciam_shared.tokens.apps import AppDirectory
from ciam_shared.worker import WorkerLoop

log = logging.getLogger(__name__)
MAX_MARKETING_ATTEMPTS = 10
# Attempt n waits up to 2^n seconds (2 * 2^(n-1)), at most five minutes.
RETRY = Backoff(base_seconds=2.0, cap_seconds=300.0)
BATCH = 50


@dataclass(frozen=True)
class Tuning:
    poll_seconds: float
    settle: timedelta
    lease: timedelta  # a claim older than this belongs to a stopped worker
    confirmation_retry_period: timedelta  # a confirmation is retried this long, then failed
    confirm_unverified: bool  # send confirmations to addresses auth has not verified


@dataclass(frozen=True)
class Claim:
    """What a worker needs of a claimed message, read inside the claiming transaction."""

    id: uuid.UUID
    token: uuid.UUID
    key: str
    kind: str
    channel: str
    subject_id: uuid.UUID
    recipient: str | None
    title: str | None
    body: str
    change: dict[str, Any] | None
    attempts: int
    requested_at: datetime


def _claim(message: Message, now: datetime) -> Claim:
    message.status, message.reason = repository.CLAIMED, None
    message.claim_token, message.claimed_at = uuid.uuid4(), now
    message.attempts += 1
    return Claim(
        message.id,
        message.claim_token,
        message.idempotency_key,
        message.kind,
        message.channel,
        message.subject_id,
        message.recipient,
        message.title,
        message.body,
        message.change,
        message.attempts,
        message.requested_at,
    )


class MessageWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        view: ConsentView,
        channels: dict[str, Channel],
        tuning: Tuning,
        contacts: AuthContacts | None,
        apps: AppDirectory,
    ) -> None:
        self.sessions, self.view, self.channels = sessions, view, channels
        self.apps = apps
        self.tuning, self.contacts = tuning, contacts
        self.settle = tuning.settle
        self._loop = WorkerLoop("messages", self._more, self.tuning.poll_seconds)
        self._next_recovery = utcnow()

    def wake(self) -> None:
        self._loop.wake()

    async def run_forever(self) -> None:
        """Rounds while there is work, then woken or polled (`ciam_shared.worker`)."""
        await self._loop.run()

    async def _more(self) -> bool:
        return await self.run_once() > 0

    async def run_once(self) -> int:
        now = utcnow()
        if now >= self._next_recovery:
            self._next_recovery = now + self.tuning.lease / 4
            async with unit_of_work(self.sessions) as session:
                requeued, assumed = await repository.recover_claims(
                    session, now, now - self.tuning.lease
                )
            if requeued or assumed:
                log.warning(
                    "recovered stale claims: %d queued again, %d unconfirmed", requeued, assumed
                )
        claims = await self._claim_due(now)
        auth_down = False
        for claim in claims:
            auth_down = await self._deliver(claim, auth_down=auth_down)
        return len(claims)

    async def _claim_due(self, now: datetime) -> list[Claim]:
        async with unit_of_work(self.sessions) as session:
            due = await repository.due_messages(session, now, BATCH)
            if not due:
                return []
            marketing = [m for m in due if m.kind == MARKETING]
            caught_up = await self.view.caught_up() if marketing else True
            claims = []
            for message in due:
                if message.kind == MARKETING:
                    if not caught_up:
                        message.status, message.reason = "held", "consent view is behind the broker"
                        MESSAGES.labels(MARKETING, "held").inc()
                        continue
                    reason = await refusal(session, self.view, message, self.apps)
                    if reason is not None:
                        message.status, message.reason = "refused", reason
                        MESSAGES.labels(MARKETING, "refused").inc()
                        continue
                if self._exhausted(message, now):  # e.g. a send that crashes every time
                    message.status, message.reason = "failed", message.reason or "out of attempts"
                    MESSAGES.labels(message.kind, "failed").inc()
                    continue
                claims.append(_claim(message, now))
            return claims

    def _exhausted(self, message: Message, now: datetime) -> bool:
        if message.kind == MARKETING:
            return message.attempts >= MAX_MARKETING_ATTEMPTS
        return now - message.requested_at >= self.tuning.confirmation_retry_period

    async def _deliver(self, claim: Claim, *, auth_down: bool) -> bool:
        """Send one claimed message; returns whether the auth service is unreachable."""
        to, title, body = claim.recipient, claim.title, claim.body
        channel = self.channels.get(claim.channel)
        if channel is None:
            await self._settle(claim, "failed", f"no channel `{claim.channel}` is configured")
            return auth_down
        if claim.kind == CONFIRMATION:
            if self.contacts is None or claim.change is None:
                await self._settle(claim, "cancelled", "confirmations are not configured")
                return auth_down
            if auth_down:
                await self._retry(claim, "auth unreachable earlier in this round")
                return True
            try:
                contact = await self.contacts.lookup(claim.subject_id)
            except ContactsUnavailable as exc:
                await self._retry(claim, str(exc))
                return True
            if contact is None:
                await self._settle(claim, "cancelled", "the account no longer exists")
                return False
            if not contact.email_verified and not self.tuning.confirm_unverified:
                await self._settle(claim, "cancelled", "the address is not verified")
                return False
            to = contact.email
            title, body = render(contact.locale, claim.change)
        assert to is not None

        async def commit_point() -> bool:
            async with unit_of_work(self.sessions) as session:
                return await repository.hand_over(session, claim.id, claim.token)

        try:
            await channel.send(
                key=claim.key, to=to, title=title, body=body, commit_point=commit_point
            )
        except Fenced:
            log.warning("message %s: claim taken over; not sent by this worker", claim.id)
            MESSAGES.labels(claim.kind, "fenced").inc()
        except InDoubt as exc:
            await self._settle(claim, "sent", f"unconfirmed: {exc}"[:300], sent_at=utcnow())
            MESSAGES.labels(claim.kind, "unconfirmed").inc()
        except ChannelError as exc:
            await self._retry(claim, str(exc), permanent=exc.permanent)
        else:
            await self._settle(claim, "sent", None, sent_at=utcnow())
            MESSAGES.labels(claim.kind, "sent").inc()
        return False

    async def _retry(self, claim: Claim, reason: str, *, permanent: bool = False) -> None:
        now = utcnow()
        give_up = permanent or (
            claim.attempts >= MAX_MARKETING_ATTEMPTS
            if claim.kind == MARKETING
            else now - claim.requested_at >= self.tuning.confirmation_retry_period
        )
        if give_up:
            await self._settle(claim, "failed", reason)
            MESSAGES.labels(claim.kind, "failed").inc()
            return
        await self._settle(claim, "queued", reason, not_before=RETRY.after(claim.attempts, now))
        MESSAGES.labels(claim.kind, "retry").inc()

    async def _settle(self, claim: Claim, status: str, reason: str | None, **values: Any) -> None:
        async with unit_of_work(self.sessions) as session:
            settled = await repository.settle_claim(
                session,
                claim.id,
                claim.token,
                {"status": status, "reason": reason[:300] if reason else None}
                | {"claim_token": None}
                | values,
            )
        if not settled:
            log.warning("message %s: claim taken over before its outcome was recorded", claim.id)
