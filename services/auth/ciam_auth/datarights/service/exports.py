"""Download my data: the request, the parts the services send back, the archive, its expiry.

A request stages `DataExportRequested` (outbox, same transaction as its row); each service,
auth included, answers one `DataExportPart`. Every part is kept as it arrives; when the last
one is in and all are whole, the archive is made, the parts' documents dropped and a mail
sent. A part that failed, is too large, or did not come by `deadline_at` fails the export:
no archive is made without a service (never a silent partial archive).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.context import SOURCE, AuthContext
from ciam_auth.datarights.errors import ArchiveGone, ArchiveNotReady, ExportNotFound
from ciam_auth.datarights.models import (
    COLLECTING,
    EXPIRED,
    FAILED,
    READY,
    DataExport,
)
from ciam_auth.datarights.models import DataExportPart as PartRow
from ciam_auth.datarights.repository import requests as repository
from ciam_auth.datarights.service import archive, mails
from ciam_shared.db import new_id, utcnow
from ciam_shared.events import PRIVACY_SERVICES, CloudEvent, DataExportPart, DataExportRequested
from ciam_shared.outbox import stage
from ciam_shared.privacy import PartCorrupt, new_request_key, unpack_part

StepState = Literal["answered", "pending", "failed"]
SWEEP_BATCH = 50


def export_path(export_id: uuid.UUID) -> str:
    return f"/privacy/export/{export_id}"


@dataclass(frozen=True)
class Step:
    service: str
    state: StepState
    detail: str = ""


@dataclass(frozen=True)
class ExportView:
    id: uuid.UUID
    status: str  # collecting | ready | failed | expired
    requested_at: datetime
    deadline_at: datetime
    expires_at: datetime | None
    archive_size: int | None
    steps: list[Step]

    @property
    def downloadable(self) -> bool:
        return self.status == READY


async def request_export(
    session: AsyncSession, ctx: AuthContext, subject_id: uuid.UUID, locale: str
) -> uuid.UUID:
    """A new export, or the one still collecting (a second click does not ask twice)."""
    now = utcnow()
    running = await repository.open_export_of(session, subject_id, now)
    if running is not None:
        return running.id
    private_key, public_key = new_request_key()
    export_id = new_id()
    export = DataExport(
        id=export_id,
        part_key=ctx.sealing.seal(private_key, _key_context(export_id)),
        subject_id=subject_id,
        locale=locale,
        status=COLLECTING,
        requested_at=now,
        deadline_at=now + timedelta(seconds=ctx.settings.export_answer_seconds),
    )
    await repository.add(session, export)
    asked = DataExportRequested(
        subject_id=subject_id, request_id=export.id, requested_at=now, public_key=public_key
    )
    await stage(session, CloudEvent.wrap(asked, source=SOURCE), topic_prefix=ctx.topic_prefix)
    return export.id


def _key_context(export_id: uuid.UUID) -> bytes:
    # A sealed key copied to another export's row does not open.
    return f"export:{export_id}".encode()


async def _owned(session: AsyncSession, subject_id: uuid.UUID, export_id: uuid.UUID) -> DataExport:
    export = await repository.export_by_id(session, export_id)
    if export is None or export.subject_id != subject_id:
        raise ExportNotFound(f"No export {export_id} of the signed-in account.")
    return export


def _steps(export: DataExport, parts: list[PartRow], now: datetime) -> list[Step]:
    by_service = {p.service: p for p in parts}
    steps = []
    for service in PRIVACY_SERVICES:
        part = by_service.get(service)
        if part is not None and part.status == "ready":
            steps.append(Step(service, "answered"))
        elif part is not None:
            steps.append(Step(service, "failed", part.status))
        elif export.status == COLLECTING and now < export.deadline_at:
            steps.append(Step(service, "pending"))
        else:
            steps.append(Step(service, "failed", "no-answer"))
    return steps


def _view(export: DataExport, parts: list[PartRow], now: datetime) -> ExportView:
    status = export.status
    if status == COLLECTING and now >= export.deadline_at:
        status = FAILED  # the sweeper records it soon; the page says it now
    return ExportView(
        export.id,
        status,
        export.requested_at,
        export.deadline_at,
        export.expires_at,
        export.archive_size,
        _steps(export, parts, now),
    )


async def view(session: AsyncSession, subject_id: uuid.UUID, export_id: uuid.UUID) -> ExportView:
    export = await _owned(session, subject_id, export_id)
    return _view(export, list(await repository.parts_of(session, export.id)), utcnow())


async def recent(session: AsyncSession, subject_id: uuid.UUID) -> list[ExportView]:
    now = utcnow()
    return [
        _view(e, list(await repository.parts_of(session, e.id)), now)
        for e in await repository.exports_of(session, subject_id)
    ]


async def archive_of(
    session: AsyncSession, subject_id: uuid.UUID, export_id: uuid.UUID
) -> tuple[str, bytes]:
    """The zip for its owner, while it is offered."""
    export = await _owned(session, subject_id, export_id)
    now = utcnow()
    if export.status == COLLECTING and now < export.deadline_at:
        raise ArchiveNotReady("The services have not all answered yet.")
    expired = export.expires_at is not None and export.expires_at <= now
    if export.status != READY or export.archive is None or expired:
        raise ArchiveGone("This export failed or its archive expired: request a new one.")
    return f"my-data-{export.requested_at:%Y%m%d}-{export.id.hex[:8]}.zip", export.archive


async def receive_part(session: AsyncSession, ctx: AuthContext, part: DataExportPart) -> None:
    """One service's answer. Ignored for an export that is not collecting any more (finished,
    failed, past its deadline) or not the subject's: a late part makes no archive."""
    export = await repository.export_by_id(session, part.request_id, for_update=True)
    now = utcnow()
    if (
        export is None
        or export.subject_id != part.subject_id
        or export.status != COLLECTING
        or now >= export.deadline_at
    ):
        return
    status, document, detail = part.status, None, part.detail
    if status == "ready" and export.part_key is not None:
        try:
            private_key = ctx.sealing.open(export.part_key, _key_context(export.id))
            document = unpack_part(part, private_key)
        except PartCorrupt as exc:
            status, detail = "failed", str(exc)
    await repository.add_part_once(
        session,
        {
            "export_id": export.id,
            "service": part.service,
            "status": status,
            "document": document,
            "size": part.size,
            "detail": detail[:500],
            "received_at": now,
        },
    )
    parts = list(await repository.parts_of(session, export.id))
    if {p.service for p in parts} >= set(PRIVACY_SERVICES):
        await _finish(session, ctx, export, parts, now)


async def _finish(
    session: AsyncSession,
    ctx: AuthContext,
    export: DataExport,
    parts: list[PartRow],
    now: datetime,
) -> None:
    documents = {p.service: p.document for p in parts if p.status == "ready" and p.document}
    if set(documents) < set(PRIVACY_SERVICES):
        export.status = FAILED
    else:
        info = archive.ArchiveInfo(str(export.subject_id), export.requested_at, now, export.locale)
        export.archive = archive.build(info, {s: d for s, d in documents.items() if d})
        export.archive_size = len(export.archive)
        export.status, export.ready_at = READY, now
        export.expires_at = now + timedelta(days=ctx.settings.export_keep_days)
        account = await repository.account(session, export.subject_id)
        if account is not None and account.email is not None:
            ctx.mailer.stage(
                session,
                mails.export_ready(
                    ctx, account.email, export.locale, export_path(export.id), export.expires_at
                ),
            )
    # What the services sent is in the archive now (or the export failed): no second copy,
    # and no key that could still read the parts in the log.
    export.part_key = None
    await repository.drop_documents(session, export.id)


async def sweep(session: AsyncSession, now: datetime | None = None) -> int:
    """Remove archives past their time and fail exports past their deadline. Returns how
    many rows it changed (the worker runs it again while it finds any)."""
    now = now or utcnow()
    changed = 0
    for export in await repository.claim_expired(session, now, SWEEP_BATCH):
        export.archive, export.status = None, EXPIRED
        changed += 1
    for export in await repository.claim_overdue(session, now, SWEEP_BATCH):
        export.status, export.part_key = FAILED, None
        await repository.drop_documents(session, export.id)
        changed += 1
    return changed
