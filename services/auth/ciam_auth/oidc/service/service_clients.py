"""Machine clients the operator declares (`AUTH_SERVICE_CLIENTS` or `AUTH_SERVICE_CLIENTS_FILE`),
such as the profile's and the notifier's clients for the internal API, upserted at every start.

A declared client is confidential (`client_secret_basic`), first party, of no brand, with the
client credentials grant only and no redirect URI. The declaration owns its rows: a changed
secret, name, scope or purpose list is applied at the next start; clients it does not name are
left alone (removing one from the list does not delete it: use the admin API). Replicas starting
together on one database each run the upsert; the database serialises them (INSERT .. ON
CONFLICT DO NOTHING, then a locked read), so exactly one of them publishes each change.
"""

from __future__ import annotations

import logging
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.oidc.declaration import ServiceClientConfig
from ciam_auth.oidc.repository import clients as repository
from ciam_auth.oidc.service import clients
from ciam_shared.db import utcnow

log = logging.getLogger(__name__)
Outcome = Literal["created", "updated", "unchanged"]


async def upsert(
    session: AsyncSession, declared: ServiceClientConfig, *, topic_prefix: str
) -> Outcome:
    """Create or update one declared client; publishes on ciam.auth.apps only when it changed."""
    spec = declared.spec()
    columns = clients.columns(spec)
    digest = clients.secret_hash(declared.secret.get_secret_value())
    now = utcnow()
    created = await repository.insert_if_absent(
        session, declared.client_id, secret_hash=digest, now=now, columns=columns
    )
    if created:
        client = await clients.get(session, declared.client_id)
        await clients.publish(session, client, topic_prefix)
        return "created"
    # The row exists (perhaps inserted a moment ago by another replica, whose transaction the
    # insert above waited for): lock it, so of two replicas applying one change only the first
    # sees a difference.
    client = await repository.locked(session, declared.client_id)
    current = {name: getattr(client, name) for name in columns}
    if current == columns and client.secret_hash == digest:
        return "unchanged"
    for name, value in columns.items():
        setattr(client, name, value)
    client.secret_hash = digest
    client.updated_at = now
    await repository.saved(session)
    await clients.publish(session, client, topic_prefix)
    return "updated"
