"""The auth service's part of an export: the account, its sessions and the devices they run
on, linked social identities (with what was imported through them), the apps the customer
allowed on the consent screen and the refresh tokens they hold, the account's passkeys. Never a
password hash, a TOTP secret, a recovery code, a token or its hash: only that they exist and
when."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.context import SOURCE, AuthContext
from ciam_auth.datarights.repository import holdings as repository
from ciam_auth.passkeys.aaguids import model_name
from ciam_shared.db import utcnow
from ciam_shared.events import CloudEvent, DataExportRequested
from ciam_shared.outbox import stage
from ciam_shared.privacy import pack_part


async def export_subject(
    session: AsyncSession, ctx: AuthContext, subject_id: uuid.UUID
) -> dict[str, Any]:
    account = await repository.account(session, subject_id)
    if account is None:  # deleted between the request and its answer
        return {"service": "auth", "subject_id": str(subject_id), "account": None}
    sessions = await ctx.sessions.list_for(subject_id)
    tokens = await repository.refresh_tokens(session, subject_id)
    return {
        "service": "auth",
        "subject_id": str(subject_id),
        "exported_at": utcnow(),
        "account": {
            "id": account.id,
            "email": account.email,
            "email_verified_at": account.email_verified_at,
            "created_at": account.created_at,
            "locale": account.locale,
            "has_password": account.password_hash is not None,
            "password_changed_at": account.password_changed_at,
            "two_step_verification": {
                "method": "totp" if account.totp_enabled else None,
                "enabled_at": account.totp_enabled_at,
                "recovery_codes_left": await repository.recovery_codes_left(session, subject_id),
            },
        },
        "sessions": [
            {
                "device": s.device,
                "channel": s.channel,
                "signed_in_at": s.created_at,
                "last_seen": s.last_seen,
                "methods": s.amr,
            }
            for s in sessions
        ],
        "devices": sorted({s.device for s in sessions}),
        "linked_identities": [
            {
                "provider": i.provider,
                "issuer": i.issuer,
                "subject": i.subject,
                "import_fields": i.import_fields,
                "imported": i.imported,
                "linked_at": i.created_at,
                "last_used_at": i.last_used_at,
            }
            for i in await repository.linked_identities(session, subject_id)
        ],
        # What the account page shows of each passkey; the public key and credential id are
        # an authenticator's, not the customer's information.
        "passkeys": [
            {
                "name": k.name,
                "model": model_name(k.aaguid),
                "synced": k.synced,
                "created_at": k.created_at,
                "last_used_at": k.last_used_at,
                "flagged_at": k.flagged_at,
            }
            for k in await repository.passkeys(session, subject_id)
        ],
        "apps_allowed": [
            {
                "client_id": grant.client_id,
                "app": name,
                "scopes": grant.scopes,
                "granted_at": grant.granted_at,
            }
            for grant, name in await repository.app_grants(session, subject_id)
        ],
        "app_tokens": [
            {
                "client_id": t.client_id,
                "scope": t.scope,
                "issued_at": t.issued_at,
                "expires_at": t.expires_at,
                "used_at": t.used_at,
                "revoked_at": t.revoked_at,
            }
            for t in tokens
        ],
    }


async def answer_export(
    session: AsyncSession, ctx: AuthContext, request: DataExportRequested
) -> None:
    part = pack_part(request, "auth", await export_subject(session, ctx, request.subject_id))
    await stage(session, CloudEvent.wrap(part, source=SOURCE), topic_prefix=ctx.topic_prefix)
