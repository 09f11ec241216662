"""The data-rights pages: request an export and follow it (`/privacy/export...`, signed in),
download its archive (its owner only), and the status of a deletion (`/privacy/deletion/...`,
reached by the link in the mail: no session, the account is gone). Plain forms (303 after a
POST); a page still waiting for answers reloads itself (meta refresh), no JavaScript."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import RedirectResponse

from ciam_auth.context import AuthContext
from ciam_auth.datarights.errors import (
    ArchiveGone,
    ArchiveNotReady,
    DeletionNotFound,
    ExportNotFound,
)
from ciam_auth.datarights.service import deletions, exports
from ciam_auth.embedding import PageSessionDep, page_brand
from ciam_auth.errors import CsrfFailed
from ciam_auth.i18n import text
from ciam_auth.pages import OptionalForm, render
from ciam_auth.parts import AuthDep
from ciam_auth.privacy.api.common import to_login
from ciam_auth.sessions.store import Session
from ciam_auth.theming import keep
from ciam_auth.transactions import SessionDep
from ciam_auth.web import check_csrf, locale_of

# The export pages are reached from /privacy: opened for a brand app (`?client_id=`), they
# keep its look and frames (privacy.md, "Embedding and theming per brand app").
router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(page_brand)])
EXPORT = "/privacy/export"
# A page waiting for the services' answers reloads itself this often.
REFRESH_SECONDS = 3


async def _export_page(
    request: Request,
    session: SessionDep,
    ctx: AuthContext,
    current: Session,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    return render(
        request,
        ctx,
        "data_export.html",
        locale=locale_of(request),
        title_key="export_title",
        status_code=status_code,
        main_class="wide",
        exports=await exports.recent(session, current.account_id),
        keep_days=ctx.settings.export_keep_days,
        error=error,
    )


@router.get(EXPORT)
async def export_page(
    request: Request, session: SessionDep, ctx: AuthDep, current: PageSessionDep
) -> Response:
    if current is None:
        return to_login(EXPORT, request)
    return await _export_page(request, session, ctx, current)


@router.post(EXPORT)
async def request_export(
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: PageSessionDep,
    csrf: OptionalForm = None,
) -> Response:
    if current is None:
        return to_login(EXPORT, request)
    try:
        check_csrf(request, csrf)
    except CsrfFailed:
        return await _export_page(
            request,
            session,
            ctx,
            current,
            status_code=403,
            error=text(locale_of(request), "form_expired"),
        )
    export_id = await exports.request_export(session, ctx, current.account_id, locale_of(request))
    return RedirectResponse(
        keep(request, exports.export_path(export_id)), status_code=status.HTTP_303_SEE_OTHER
    )


def _not_found(request: Request, ctx: AuthContext, key: str, code: int) -> Response:
    return render(
        request,
        ctx,
        "data_export_status.html",
        locale=locale_of(request),
        title_key="export_title",
        status_code=code,
        export=None,
        error=text(locale_of(request), key),
    )


@router.get(f"{EXPORT}/{{export_id}}")
async def export_status(
    export_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: PageSessionDep,
) -> Response:
    if current is None:
        return to_login(exports.export_path(export_id), request)
    try:
        found = await exports.view(session, current.account_id, export_id)
    except ExportNotFound:
        return _not_found(request, ctx, "export_not_found", 404)
    response = render(
        request,
        ctx,
        "data_export_status.html",
        locale=locale_of(request),
        title_key="export_title",
        main_class="wide",
        export=found,
    )
    if found.status == "collecting":
        response.headers["refresh"] = str(REFRESH_SECONDS)
    return response


@router.get(f"{EXPORT}/{{export_id}}/archive")
async def export_archive(
    export_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    ctx: AuthDep,
    current: PageSessionDep,
) -> Response:
    if current is None:
        return to_login(exports.export_path(export_id), request)
    try:
        name, archive = await exports.archive_of(session, current.account_id, export_id)
    except ExportNotFound:
        return _not_found(request, ctx, "export_not_found", 404)
    except ArchiveNotReady:
        return _not_found(request, ctx, "export_not_ready", 409)
    except ArchiveGone:
        return _not_found(request, ctx, "export_gone", 410)
    return Response(
        archive,
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


@router.get("/privacy/deletion/{token}")
async def deletion_status(
    token: str, request: Request, session: SessionDep, ctx: AuthDep
) -> Response:
    locale = locale_of(request)
    try:
        found = await deletions.status_of(session, token[:200])
    except DeletionNotFound:
        return render(
            request,
            ctx,
            "deletion_status.html",
            locale=locale,
            title_key="deletion_title",
            status_code=404,
            deletion=None,
            error=text(locale, "deletion_not_found"),
        )
    response = render(
        request,
        ctx,
        "deletion_status.html",
        locale=locale,
        title_key="deletion_title",
        main_class="wide",
        deletion=found,
    )
    # The link is a bearer secret: no referrer leaves with it.
    response.headers["referrer-policy"] = "no-referrer"
    if found.completed_at is None:
        response.headers["refresh"] = str(REFRESH_SECONDS)
    return response
