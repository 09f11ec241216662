"""Tracking over HTTP: a batch of behavioural events from an app."""

from __future__ import annotations

from fastapi import APIRouter

from ciam_profile.api.deps import GpcDep, PartsDep
from ciam_profile.auth import TRACK, PrincipalDep, require_app
from ciam_profile.schemas import TrackIn, TrackOut
from ciam_profile.service.tracking import Tracker, track
from ciam_shared.http.openapi import BEARER, problem_responses
from ciam_shared.service import SessionDep

router = APIRouter(prefix="/v1", tags=["tracking"], responses=problem_responses(*BEARER))


@router.post("/events", responses=problem_responses(400, 404, 409))
async def track_events(
    body: TrackIn, session: SessionDep, principal: PrincipalDep, parts: PartsDep, gpc: GpcDep
) -> TrackOut:
    """Each event is stored only if the subject's consents allow the tracking purpose for
    this app's brand and the event's channel; the others are refused (200, with reasons)."""
    require_app(principal, TRACK)
    results = await track(
        session, Tracker(parts.cache, parts.gate), principal, body.events, gpc_header=gpc
    )
    stored = sum(r.stored for r in results)
    return TrackOut(stored=stored, refused=len(results) - stored, results=results)
