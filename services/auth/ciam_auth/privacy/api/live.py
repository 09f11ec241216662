"""The propagation proof of a change, on request: `/privacy/propagation?version=N` lists which
apps and services confirmed they applied it (the consent service's `/propagation`, from the
`ciam.consent.applied` proofs) and which have not yet; `/privacy/propagation/live?version=N`
says the same as server-sent events until every known subscriber confirmed (or a minute
passed), for privacy.js to show on the page without a reload. `/privacy/privacy.js` is that
script, served by auth (the CSP allows same-origin scripts only, no inline code)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from ciam_auth.context import AuthContext
from ciam_auth.embedding import PageSessionDep
from ciam_auth.i18n import text
from ciam_auth.pages import render
from ciam_auth.parts import AuthDep
from ciam_auth.privacy.api.common import PATH, repository, to_login
from ciam_auth.privacy.errors import ChangeRefused, ConsentUnavailable
from ciam_auth.privacy.schemas import PropagationEntry
from ciam_auth.sessions.store import Session
from ciam_auth.web import locale_of
from ciam_shared.tokens.scopes import MY_CONSENTS_READ

router = APIRouter(tags=["pages"], include_in_schema=False)
PROPAGATION = f"{PATH}/propagation"
VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
POLL_S = 0.5
LIVE_FOR_S = 60.0
SCRIPT = (files("ciam_auth.privacy") / "static" / "privacy.js").read_bytes()


async def _entry(
    request: Request, ctx: AuthContext, current: Session, version: int | None
) -> PropagationEntry | None:
    """The change with this version (None: the latest), as the consent service proves it."""
    http = ctx.services_http
    consent = repository(request, ctx, current, http, [MY_CONSENTS_READ])
    proof = await consent.propagation_of(current.account_id, version)
    if version is None:
        return proof.changes[-1] if proof.changes else None
    return next((c for c in proof.changes if c.version == version), None)


def summary(locale: str, entry: PropagationEntry | None) -> str:
    if entry is None:
        return text(locale, "privacy_live_none")
    confirmed = ", ".join(sorted(entry.applied))
    if entry.pending:
        pending = ", ".join(entry.pending)
        if not confirmed:
            return text(locale, "privacy_live_waiting", pending=pending)
        return text(locale, "privacy_live_pending", confirmed=confirmed, pending=pending)
    if entry.applied:
        return text(locale, "privacy_live_done", confirmed=confirmed)
    return text(locale, "privacy_live_recorded")


@router.get(PROPAGATION)
async def propagation_page(
    request: Request, ctx: AuthDep, current: PageSessionDep, version: VersionQuery = None
) -> Response:
    if current is None:
        return to_login(PATH, request)
    locale = locale_of(request)
    entry, error, code = None, None, 200
    try:
        entry = await _entry(request, ctx, current, version)
    except (ConsentUnavailable, ChangeRefused):
        error, code = text(locale, "privacy_unavailable"), 503
    return render(
        request,
        ctx,
        "privacy_propagation.html",
        locale=locale,
        title_key="privacy_propagation_title",
        status_code=code,
        main_class="wide",
        entry=entry,
        summary=summary(locale, entry) if error is None else None,
        error=error,
    )


@router.get(f"{PROPAGATION}/live")
async def propagation_live(
    request: Request, ctx: AuthDep, current: PageSessionDep, version: VersionQuery = None
) -> Response:
    if current is None:
        return Response(status_code=401)
    locale = locale_of(request)

    async def events() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LIVE_FOR_S
        said = None
        while True:
            try:
                entry = await _entry(request, ctx, current, version)
                done = entry is not None and not entry.pending
                said_now = summary(locale, entry)
            except (ConsentUnavailable, ChangeRefused):
                done, said_now = True, text(locale, "privacy_unavailable")
            if said_now != said or done:
                said = said_now
                payload = json.dumps({"text": said_now, "done": done}, ensure_ascii=False)
                yield f"data: {payload}\n\n".encode()
            if done or loop.time() >= deadline or await request.is_disconnected():
                return
            await asyncio.sleep(POLL_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


@router.get(f"{PATH}/privacy.js")
async def script() -> Response:
    return Response(
        SCRIPT,
        media_type="text/javascript",
        headers={"cache-control": "no-cache", "x-content-type-options": "nosniff"},
    )
