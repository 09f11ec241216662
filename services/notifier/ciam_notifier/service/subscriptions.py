"""Webhook subscriptions of brand apps: each app sees and changes only its own."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_notifier import repository
from ciam_notifier.errors import SubscriptionNotFound, SubscriptionStopped
from ciam_notifier.models import Subscription
from ciam_notifier.signing import new_secret
from ciam_notifier.ssrf import WebhookGuard
from ciam_shared.db import new_id, utcnow
from ciam_shared.tokens.apps import check_declared


async def subscribe(
    session: AsyncSession,
    *,
    app: str,
    declared: frozenset[str],
    url: str,
    event_types: list[str],
    purposes: list[str],
    brands: list[str],
    guard: WebhookGuard,
) -> Subscription:
    check_declared(app, declared, purposes)
    await guard.check(url)
    row = Subscription(
        id=new_id(),
        app=app,
        url=url,
        event_types=event_types,
        purposes=purposes,
        brands=brands,
        secret=new_secret(),
        status="active",
        created_at=utcnow(),
    )
    await repository.add(session, row)
    return row


async def own(session: AsyncSession, app: str, subscription_id: uuid.UUID) -> Subscription:
    row = await repository.subscription(session, subscription_id)
    if row is None or row.app != app:  # another app's subscription does not exist for you
        raise SubscriptionNotFound(f"No subscription {subscription_id}.")
    return row


async def live(session: AsyncSession, app: str, subscription_id: uuid.UUID) -> Subscription:
    """One of the app's subscriptions that was not stopped by its app's deletion (a client id
    registered again at auth does not bring the old subscriptions back)."""
    row = await own(session, app, subscription_id)
    if row.status == repository.APP_DELETED:
        raise SubscriptionStopped(f"Subscription {subscription_id} was stopped for good.")
    return row


async def set_status(
    session: AsyncSession, app: str, subscription_id: uuid.UUID, status: str
) -> Subscription:
    row = await live(session, app, subscription_id)
    row.status = status
    return row


async def resume(
    session: AsyncSession, app: str, subscription_id: uuid.UUID, declared: frozenset[str]
) -> Subscription:
    """Only a live subscription whose purpose filter the app still declares resumes."""
    row = await live(session, app, subscription_id)
    check_declared(app, declared, row.purposes)
    row.status = "active"
    return row


async def rotate_secret(
    session: AsyncSession, app: str, subscription_id: uuid.UUID
) -> Subscription:
    """A new secret; the previous one keeps signing too until the next rotation."""
    row = await own(session, app, subscription_id)
    row.previous_secret, row.secret = row.secret, new_secret()
    return row


async def unsubscribe(session: AsyncSession, app: str, subscription_id: uuid.UUID) -> None:
    await repository.delete_subscription(session, await own(session, app, subscription_id))
