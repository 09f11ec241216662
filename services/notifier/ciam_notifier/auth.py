"""Which app calls: the dependencies of the notifier's app endpoints (webhook subscriptions,
marketing messages). An app's own token (client credentials) counts only while the auth
service knows the app (its apps topic); the scope is each endpoint's to check. The model, with
a table of every endpoint: docs/security.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ciam_notifier.parts import PartsDep
from ciam_shared.tokens import Forbidden, Kind, Principal, bearer_principal
from ciam_shared.tokens.access import require_scope
from ciam_shared.tokens.apps import registered_app
from ciam_shared.tokens.scopes import NOTIFIER_ADMIN, NOTIFIER_WEBHOOKS

ADMIN = NOTIFIER_ADMIN


async def current_app(request: Request, parts: PartsDep) -> Principal:
    """A registered app's own token (client credentials); the caller checks its scope."""
    principal: Principal = await bearer_principal(request, admin_scope=ADMIN)
    if principal.kind is not Kind.APP:
        raise Forbidden("This belongs to apps: use the app's client credentials.")
    registered_app(parts.apps, principal.id)  # a deleted app's token: refused
    return principal


async def messaging_app(principal: Annotated[Principal, Depends(current_app)]) -> str:
    return principal.id


async def webhook_app(principal: Annotated[Principal, Depends(current_app)]) -> str:
    require_scope(principal, NOTIFIER_WEBHOOKS)
    return principal.id


AppDep = Annotated[str, Depends(messaging_app)]  # marketing messages: any registered app
WebhookAppDep = Annotated[str, Depends(webhook_app)]
