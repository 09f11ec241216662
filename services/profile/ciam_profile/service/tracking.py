"""Tracking behavioural events: stored only when the subject's consents allow the tracking
purpose (analytics) for the calling app's brand and the event's channel. Refused events are
counted (Prometheus) and never stored.

A batch costs a fixed number of statements whatever its size: one lookup of the identifiers,
the graph walk, one insert of the events allowed; the consent checks are in memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_profile import repository
from ciam_profile.auth import Principal
from ciam_profile.cache import ProfileCache
from ciam_profile.gate import ConsentGate, Refusal
from ciam_profile.schemas import IdentifierKind, TrackedEventIn, TrackResult
from ciam_profile.service.graph import clusters_of
from ciam_shared.db import utcnow

STORED = Counter("ciam_profile_tracked_events_total", "Tracked events stored")
REFUSED = Counter(
    "ciam_profile_tracking_refused_total", "Tracked events refused, never stored", ["reason"]
)


@dataclass(frozen=True)
class Tracker:
    cache: ProfileCache
    gate: ConsentGate


async def track(
    session: AsyncSession,
    tracker: Tracker,
    principal: Principal,
    events: list[TrackedEventIn],
    *,
    gpc_header: bool,
) -> list[TrackResult]:
    pairs: set[tuple[str, str]] = set()
    for e in events:
        if e.subject_id is None and e.device_id is not None:
            pairs.add((IdentifierKind.DEVICE.value, e.device_id))
        elif e.subject_id is None and e.anonymous_id is not None:
            pairs.add((IdentifierKind.COOKIE.value, e.anonymous_id))
    owners = await repository.subjects_of_identifiers(session, pairs)
    subjects = [_subject(e, owners) for e in events]
    clusters = await clusters_of(session, {s for s in subjects if s is not None})
    now = utcnow()
    rows: list[dict[str, Any]] = []
    results: list[TrackResult] = []
    touched: set[uuid.UUID] = set()
    for index, (event, subject) in enumerate(zip(events, subjects, strict=True)):
        cluster = clusters.get(subject) if subject is not None else None
        if cluster is None:
            refusal: Refusal | None = Refusal.UNKNOWN_SUBJECT
        else:
            refusal = tracker.gate.tracking_refusal(
                cluster,
                brand=principal.brand,
                channel=event.channel,
                gpc=event.gpc or gpc_header,
            )
        if refusal is not None or cluster is None or subject is None:
            REFUSED.labels(refusal.value if refusal else "unknown").inc()
            results.append(TrackResult(index=index, stored=False, reason=refusal))
            continue
        rows.append(
            {
                "id": event.id or uuid.uuid4(),
                "subject_id": subject,
                "app": principal.id[:200],
                "type": event.type,
                "channel": event.channel,
                "device_id": event.device_id,
                "occurred_at": event.occurred_at,
                "received_at": now,
                "properties": event.properties,
            }
        )
        touched.update(cluster.members)
        results.append(TrackResult(index=index, stored=True))
    await repository.insert_events(session, rows)
    STORED.inc(len(rows))
    if touched:  # the derived behavioural fields changed
        await tracker.cache.invalidate(session, touched)
    return results


def _subject(event: TrackedEventIn, owners: dict[tuple[str, str], uuid.UUID]) -> uuid.UUID | None:
    if event.subject_id is not None:
        return event.subject_id
    if event.device_id is not None:
        return owners.get((IdentifierKind.DEVICE.value, event.device_id))
    if event.anonymous_id is not None:
        return owners.get((IdentifierKind.COOKIE.value, event.anonymous_id))
    return None
