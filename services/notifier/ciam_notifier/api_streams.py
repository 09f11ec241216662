"""Live streams of consent changes over Server-Sent Events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from ciam_notifier.errors import BadResumePoint
from ciam_notifier.parts import PartsDep
from ciam_notifier.service.streams import stream
from ciam_shared.http.openapi import BEARER, problem_responses
from ciam_shared.service import RuntimeDep
from ciam_shared.tokens import Kind, Principal, bearer_principal
from ciam_shared.tokens.access import require_scope
from ciam_shared.tokens.apps import acting_app, check_app
from ciam_shared.tokens.scopes import MY_CONSENTS_READ, NOTIFIER_ADMIN, NOTIFIER_STREAM

router = APIRouter(prefix="/v1/streams", tags=["streams"], responses=problem_responses(*BEARER))
ADMIN = NOTIFIER_ADMIN
SSE_HEADERS = {"cache-control": "no-store", "x-accel-buffering": "no"}


# Stream event ids are a BIGINT sequence: a larger resume point would fail in the database
# after the stream's 200 went out; it is refused before (422 problem details).
SEQ_MAX = 2**63 - 1


def _authorize(principal: Principal) -> None:
    if principal.kind is Kind.APP:
        require_scope(principal, NOTIFIER_STREAM)  # every subject: a scope of its own
    elif principal.kind is Kind.CUSTOMER:
        require_scope(principal, MY_CONSENTS_READ)  # their own consents, as at consent


def _resume_from(last_event_id: str | None, after: int | None) -> int:
    """Last-Event-ID (set by an EventSource on reconnect) wins over `?after=`."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        digits = last_event_id.strip().lstrip("0") or "0"
        if len(digits) > 19 or int(digits) > SEQ_MAX:  # length first: int() of 5,000 digits fails
            raise BadResumePoint(f"Last-Event-ID must be at most {SEQ_MAX}.")
        return int(digits)
    return after or 0


@router.get("/consents", response_class=StreamingResponse)
async def consent_stream(
    request: Request,
    runtime: RuntimeDep,
    parts: PartsDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0, le=SEQ_MAX)] = None,
) -> StreamingResponse:
    """An app with `notifier:stream` gets every subject's consent changes of the purposes it
    declares; an admin every change; a customer (`me:consents:read`) their own, through a
    third-party app only of the purposes that app declares."""
    principal = await bearer_principal(request, admin_scope=ADMIN)
    apps = parts.apps
    check_app(apps, principal)  # a deleted app's token, or a customer's token through it
    _authorize(principal)
    subject = uuid.UUID(principal.id) if principal.kind is Kind.CUSTOMER else None
    declared: Callable[[], frozenset[str] | None] | None = None
    if (client_id := acting_app(principal)) is not None:

        def declared_now() -> frozenset[str] | None:
            app = apps.get(client_id)
            return frozenset(app.purposes) if app is not None else None

        declared = declared_now

    events = stream(
        runtime.sessions,
        parts.broadcaster,
        after=_resume_from(last_event_id, after),
        subject_id=subject,
        declared=declared,
    )
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
