"""Webhook subscriptions over HTTP, for brand apps with client credentials and the
`notifier:webhooks` scope (403 `insufficient-scope` without it).

Only an app the auth service knows (its apps topic) may call these (403 `app-unknown`), and a
subscription's purpose filter must be among the purposes the app declared (403
`purpose-not-declared`); an empty filter means every purpose the app declares.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from ciam_notifier import repository
from ciam_notifier.apps import declared
from ciam_notifier.auth import WebhookAppDep
from ciam_notifier.models import Delivery, Subscription
from ciam_notifier.parts import AppsDep, PartsDep
from ciam_notifier.schemas import (
    DeliveryOut,
    ReplayIn,
    ReplayOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)
from ciam_notifier.service import subscriptions
from ciam_shared.db import after_commit, utcnow
from ciam_shared.http.openapi import BEARER, problem_responses
from ciam_shared.service import SessionDep

router = APIRouter(
    prefix="/v1/subscriptions", tags=["webhooks"], responses=problem_responses(*BEARER)
)


def _out(row: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        app=row.app,
        url=row.url,
        event_types=row.event_types,
        purposes=row.purposes,
        brands=row.brands,
        status=row.status,
        created_at=row.created_at,
    )


def _created(row: Subscription) -> SubscriptionCreated:
    return SubscriptionCreated(**_out(row).model_dump(), secret=row.secret)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(400))
async def subscribe(
    body: SubscriptionIn,
    session: SessionDep,
    app: WebhookAppDep,
    parts: PartsDep,
    apps: AppsDep,
) -> SubscriptionCreated:
    row = await subscriptions.subscribe(
        session,
        app=app,
        declared=declared(apps, app),
        url=str(body.url),
        event_types=body.event_types,
        purposes=body.purposes,
        brands=body.brands,
        guard=parts.webhook_guard,
    )
    return _created(row)


@router.get("")
async def list_subscriptions(session: SessionDep, app: WebhookAppDep) -> list[SubscriptionOut]:
    return [_out(r) for r in await repository.subscriptions_of(session, app)]


@router.get("/{subscription_id}", responses=problem_responses(404))
async def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, app: WebhookAppDep
) -> SubscriptionOut:
    return _out(await subscriptions.own(session, app, subscription_id))


@router.post("/{subscription_id}/pause", responses=problem_responses(404, 409))
async def pause(
    subscription_id: uuid.UUID, session: SessionDep, app: WebhookAppDep
) -> SubscriptionOut:
    return _out(await subscriptions.set_status(session, app, subscription_id, "paused"))


@router.post("/{subscription_id}/resume", responses=problem_responses(404, 409))
async def resume(
    subscription_id: uuid.UUID,
    session: SessionDep,
    app: WebhookAppDep,
    parts: PartsDep,
    apps: AppsDep,
) -> SubscriptionOut:
    row = await subscriptions.resume(session, app, subscription_id, declared(apps, app))
    after_commit(session, parts.deliveries.wake)
    return _out(row)


@router.post("/{subscription_id}/rotate-secret", responses=problem_responses(404, 409))
async def rotate_secret(
    subscription_id: uuid.UUID, session: SessionDep, app: WebhookAppDep
) -> SubscriptionCreated:
    return _created(await subscriptions.rotate_secret(session, app, subscription_id))


@router.delete(
    "/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
async def unsubscribe(
    subscription_id: uuid.UUID, session: SessionDep, app: WebhookAppDep
) -> Response:
    await subscriptions.unsubscribe(session, app, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        event_id=d.event_id,
        event_type=d.event_type,
        subject_id=d.subject_id,
        version=d.version,
        status=d.status,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        created_at=d.created_at,
        first_attempt_at=d.first_attempt_at,
        last_attempt_at=d.last_attempt_at,
        next_attempt_at=d.next_attempt_at,
        delivered_at=d.delivered_at,
    )


@router.get("/{subscription_id}/deliveries", responses=problem_responses(404))
async def deliveries(
    subscription_id: uuid.UUID,
    session: SessionDep,
    app: WebhookAppDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """The delivery log of the endpoint, newest first."""
    await subscriptions.own(session, app, subscription_id)
    return [
        _delivery_out(d) for d in await repository.deliveries_of(session, subscription_id, limit)
    ]


@router.post("/{subscription_id}/replay", responses=problem_responses(400, 404, 409))
async def replay(
    subscription_id: uuid.UUID,
    body: ReplayIn,
    session: SessionDep,
    app: WebhookAppDep,
    parts: PartsDep,
) -> ReplayOut:
    """Deliver again every change queued for this endpoint in [since, until], dead or not."""
    await subscriptions.live(session, app, subscription_id)
    count = await repository.requeue(session, subscription_id, body.since, body.until, utcnow())
    after_commit(session, parts.deliveries.wake)
    return ReplayOut(requeued=count)
