"""Contact addresses for the platform's own services (the notifier's confirmation emails).

Why HTTP and not an event: identity events carry no personal data, because a log cannot be
edited and erasure must leave nothing readable. A service that must write to a customer asks
for the address when it sends, keeps no copy, and gets 404 once the account is deleted.
Needs a client-credentials token with the `auth:contacts` scope (granted to platform services
only) of a client that still holds it; a customer's token is refused (guards.py).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ciam_auth.oidc.api import guards
from ciam_auth.oidc.provider import Provider
from ciam_auth.oidc.schemas import ContactOut
from ciam_auth.oidc.service import contacts
from ciam_auth.parts import get_provider
from ciam_auth.transactions import SessionDep
from ciam_shared.http.openapi import problem_responses
from ciam_shared.tokens.scopes import AUTH_CONTACTS

CONTACTS_SCOPE = AUTH_CONTACTS
router = APIRouter(prefix="/v1/internal", tags=["internal"], responses=problem_responses(401, 403))


async def contacts_reader(
    request: Request, provider: Annotated[Provider, Depends(get_provider)], db: SessionDep
) -> str:
    return (await guards.calling_client(request, provider, db, CONTACTS_SCOPE)).client_id


@router.get("/contacts/{subject_id}", responses=problem_responses(404))
async def contact(
    subject_id: uuid.UUID, db: SessionDep, _: Annotated[str, Depends(contacts_reader)]
) -> ContactOut:
    account, email = await contacts.contact(db, subject_id)
    return ContactOut(
        subject_id=account.id,
        email=email,
        email_verified=account.email_verified_at is not None,
        locale=account.locale,
    )
