"""Every query of the notifier."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ciam_notifier.models import Delivery, Message, StreamEvent, Subscription, Suppression

PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"
# A subscription of an app deleted at the auth service: stopped for good, never resumed.
APP_DELETED = "deleted"
CLAIMED, HANDED_OVER = "claimed", "handed_over"


async def add(session: AsyncSession, row: object) -> None:
    session.add(row)
    await session.flush()


async def subscriptions_of(session: AsyncSession, app: str) -> Sequence[Subscription]:
    return (
        await session.scalars(
            select(Subscription).where(Subscription.app == app).order_by(Subscription.created_at)
        )
    ).all()


async def subscription(session: AsyncSession, subscription_id: uuid.UUID) -> Subscription | None:
    return await session.get(Subscription, subscription_id)


async def subscriptions_by_id(
    session: AsyncSession, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Subscription]:
    found = await session.scalars(select(Subscription).where(Subscription.id.in_(ids)))
    return {row.id: row for row in found}


async def all_subscriptions(session: AsyncSession) -> Sequence[Subscription]:
    """Active and paused: a paused endpoint's changes are queued and held, not dropped."""
    return (
        await session.scalars(select(Subscription).where(Subscription.status != APP_DELETED))
    ).all()


async def stop_subscriptions_of(session: AsyncSession, app: str, before: datetime) -> int:
    """Mark the app's subscriptions deleted and cancel their pending deliveries; returns how
    many subscriptions were still live (0 the second time)."""
    ids = list(
        await session.scalars(
            update(Subscription)
            .where(
                Subscription.app == app,
                Subscription.status != APP_DELETED,
                Subscription.created_at <= before,
            )
            .values(status=APP_DELETED)
            .returning(Subscription.id)
        )
    )
    if ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.subscription_id.in_(ids), Delivery.status == PENDING)
            .values(status=CANCELLED, last_error="the app was deleted")
        )
    return len(ids)


async def cancel_marketing_of(
    session: AsyncSession, app: str, before: datetime, reason: str
) -> None:
    """The app's marketing not yet claimed by a sender (one in flight finishes)."""
    await session.execute(
        update(Message)
        .where(
            Message.app == app,
            Message.kind == "marketing",
            Message.status.in_(("queued", "held")),
            Message.requested_at <= before,
        )
        .values(status="cancelled", reason=reason)
    )


async def delete_subscription(session: AsyncSession, row: Subscription) -> None:
    await session.delete(row)
    await session.flush()


async def pending_deliveries(session: AsyncSession, ids: list[uuid.UUID]) -> Sequence[Delivery]:
    """The given deliveries that are still pending, locked (skipping rows another worker
    holds); the caller checks which are still under its lease."""
    query = select(Delivery).where(Delivery.id.in_(ids), Delivery.status == PENDING)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (await session.scalars(query)).all()


async def due_deliveries(session: AsyncSession, now: datetime, limit: int) -> Sequence[Delivery]:
    """Due deliveries that are the oldest unfinished one of their (subscription, subject):
    a subject's changes reach an endpoint in order, and one failing change holds back the
    later ones of that subject only. Locked, skipping rows another worker holds."""
    earlier = aliased(Delivery)
    blocked = (
        select(earlier.seq)
        .where(
            earlier.subscription_id == Delivery.subscription_id,
            earlier.subject_id == Delivery.subject_id,
            earlier.status == PENDING,
            earlier.seq < Delivery.seq,
        )
        .exists()
    )
    query = (
        select(Delivery)
        .where(and_(Delivery.status == PENDING, Delivery.next_attempt_at <= now, ~blocked))
        .order_by(Delivery.seq)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (await session.scalars(query)).all()


async def deliveries_of(
    session: AsyncSession, subscription_id: uuid.UUID, limit: int
) -> Sequence[Delivery]:
    return (
        await session.scalars(
            select(Delivery)
            .where(Delivery.subscription_id == subscription_id)
            .order_by(Delivery.seq.desc())
            .limit(limit)
        )
    ).all()


async def requeue(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    since: datetime,
    until: datetime,
    now: datetime,
) -> int:
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.subscription_id == subscription_id,
            Delivery.created_at >= since,
            Delivery.created_at <= until,
        )
        .values(
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            first_attempt_at=None,
            last_error=None,
            last_status_code=None,
            delivered_at=None,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def stream_events_after(
    session: AsyncSession, after: int, subject_id: uuid.UUID | None, limit: int
) -> Sequence[StreamEvent]:
    query = select(StreamEvent).where(StreamEvent.seq > after)
    if subject_id is not None:
        query = query.where(StreamEvent.subject_id == subject_id)
    return (await session.scalars(query.order_by(StreamEvent.seq).limit(limit))).all()


async def suppressed(
    session: AsyncSession, channel: str, subject_id: uuid.UUID, purpose: str
) -> Suppression | None:
    return await session.get(Suppression, (channel, subject_id, purpose))


async def due_messages(session: AsyncSession, now: datetime, limit: int) -> Sequence[Message]:
    query = (
        select(Message)
        .where(Message.status.in_(("queued", "held")), Message.not_before <= now)
        .order_by(Message.requested_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (await session.scalars(query)).all()


async def hand_over(session: AsyncSession, message_id: uuid.UUID, token: uuid.UUID) -> bool:
    """claimed -> handed_over, only while this claim holds (fencing); True when it did."""
    result = await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.claim_token == token, Message.status == CLAIMED)
        .values(status=HANDED_OVER)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def settle_claim(
    session: AsyncSession, message_id: uuid.UUID, token: uuid.UUID, values: dict[str, Any]
) -> bool:
    """Record a claimed message's outcome, only while this claim holds."""
    result = await session.execute(
        update(Message)
        .where(
            Message.id == message_id,
            Message.claim_token == token,
            Message.status.in_((CLAIMED, HANDED_OVER)),
        )
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def recover_claims(
    session: AsyncSession, now: datetime, expired: datetime
) -> tuple[int, int]:
    """Claims older than `expired` belong to a worker that stopped. Claimed: nothing left (an
    SMTP server drops a transaction without its final dot; the SMS gateway dedupes the key),
    so queue it again. Handed over: the dot may have reached the server, so it must not be
    sent again: count it sent, unconfirmed. Returns (requeued, assumed sent)."""
    requeued = await session.execute(
        update(Message)
        .where(Message.status == CLAIMED, Message.claimed_at < expired)
        .values(status="queued", claim_token=None, not_before=now, reason="claim expired")
    )
    assumed = await session.execute(
        update(Message)
        .where(Message.status == HANDED_OVER, Message.claimed_at < expired)
        .values(
            status="sent",
            claim_token=None,
            sent_at=now,
            reason="unconfirmed: the sender stopped after handing it to the SMTP server",
        )
    )
    return int(requeued.rowcount), int(assumed.rowcount)  # type: ignore[attr-defined]


async def message(session: AsyncSession, message_id: uuid.UUID) -> Message | None:
    return await session.get(Message, message_id)


async def prune_stream_events(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(StreamEvent).where(StreamEvent.created_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def oldest_stream_seq(session: AsyncSession) -> int | None:
    oldest = await session.scalar(select(func.min(StreamEvent.seq)))
    return int(oldest) if oldest is not None else None


async def held_about(
    session: AsyncSession, subject_id: uuid.UUID
) -> tuple[
    Sequence[Message], Sequence[tuple[Delivery, str]], Sequence[Suppression], Sequence[StreamEvent]
]:
    """Everything the notifier keeps about one subject (a data export): its messages, the
    webhook deliveries about it (with the receiving app), its suppressions, its stream events."""
    messages = (
        await session.scalars(
            select(Message).where(Message.subject_id == subject_id).order_by(Message.requested_at)
        )
    ).all()
    deliveries = (
        await session.execute(
            select(Delivery, Subscription.app)
            .join(Subscription, Subscription.id == Delivery.subscription_id)
            .where(Delivery.subject_id == subject_id)
            .order_by(Delivery.seq)
        )
    ).all()
    suppressions = (
        await session.scalars(select(Suppression).where(Suppression.subject_id == subject_id))
    ).all()
    streams = (
        await session.scalars(
            select(StreamEvent)
            .where(StreamEvent.subject_id == subject_id)
            .order_by(StreamEvent.seq)
        )
    ).all()
    return messages, [(d, app) for d, app in deliveries], suppressions, streams


async def erase_subject(session: AsyncSession, subject_id: uuid.UUID) -> None:
    """Forget a deleted subject: its messages (a claimed one's sender finds its claim gone and
    sends nothing more), deliveries about it, suppressions and stream events."""
    for model in (Message, Delivery, Suppression, StreamEvent):
        await session.execute(delete(model).where(model.subject_id == subject_id))
