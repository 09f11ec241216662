"""The brand apps the notifier serves, as the auth service registered them (its compacted apps
topic, followed by the SDK's `BrandAppView`).

An app's token is honoured only while the app is registered (403 `app-unknown` once deleted);
what reaches an app (webhooks, its SSE stream, the marketing it may send) is limited to the
purposes it declares now, so a smaller declaration takes effect at once. An app's deletion also
stops its subscriptions in the database (see `stop_app`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_notifier import repository
from ciam_shared.tokens.apps import AppDirectory, registered_app


def declared(apps: AppDirectory, client_id: str) -> frozenset[str]:
    """The purposes a registered app declared; raises AppUnknown for any other."""
    return frozenset(registered_app(apps, client_id).purposes)


def declared_now(apps: AppDirectory, client_id: str) -> frozenset[str]:
    """What may reach an app: its declared purposes, none once it is unknown (fail closed)."""
    app = apps.get(client_id)
    return frozenset(app.purposes) if app is not None else frozenset()


async def stop_app(session: AsyncSession, client_id: str, deleted_at: datetime) -> int:
    """The app was deleted at the auth service: its subscriptions stop for good (their pending
    deliveries are cancelled) and its queued marketing is cancelled. Idempotent: a second
    deletion record (or the tombstone after the deletion event) changes nothing. Only what
    was created before the deletion: a deletion read late (a new consumer group reading the
    topic's history) does not stop the subscriptions of an app registered again since."""
    stopped = await repository.stop_subscriptions_of(session, client_id, deleted_at)
    await repository.cancel_marketing_of(session, client_id, deleted_at, "the app was deleted")
    return stopped
