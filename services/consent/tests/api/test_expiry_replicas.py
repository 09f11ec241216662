"""The expiry sweep runs in every replica: a sweep that finds grants due while another
replica's sweep is expiring them (not committed yet) waits for it and expires none of them
again: one history entry, one version, one state per subject."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from ciam_consent.models import HistoryEntry, outbox
from ciam_consent.service import lifecycle
from ciam_devtools.testing.plugin import eventually
from ciam_shared.db import unit_of_work

from .test_expiry import change

SUBJECTS = 4


@pytest.fixture
def consent_extra_settings() -> dict[str, object]:
    return {"expiry_sweep_seconds": 3600}  # the service's own sweep stays out of the way


async def test_a_sweep_racing_another_replicas_sweep_expires_nothing_twice(
    consent_api: Any,
) -> None:
    api = consent_api
    runtime = api.service.state.runtime
    recorder = runtime.parts.recorder
    due = datetime.now(UTC) + timedelta(seconds=1)
    subjects = [uuid.uuid4() for _ in range(SUBJECTS)]
    for subject in subjects:
        granted = {"purpose": "analytics", "status": "granted", "expires_at": due.isoformat()}
        await change(api, subject, granted)

    async def past_due() -> bool:
        return datetime.now(UTC) > due

    await eventually(past_due)

    async def other_replica() -> int:
        async with unit_of_work(runtime.sessions) as session:
            return await lifecycle.expire_due(session, recorder)

    async with runtime.sessions() as first, first.begin():
        assert await lifecycle.expire_due(first, recorder) == SUBJECTS
        # The other replica's sweep reads the grants as still due, then waits for a subject.
        second = asyncio.create_task(other_replica())
        await eventually(lambda: someone_waits_for_a_lock(api))
    assert await second == 0

    async with api.engine.connect() as connection:
        per_subject = (
            await connection.execute(
                select(HistoryEntry.subject_id, func.count(), func.max(HistoryEntry.version))
                .where(HistoryEntry.subject_id.in_(subjects))
                .group_by(HistoryEntry.subject_id)
            )
        ).all()
        states = await connection.scalar(
            select(func.count()).where(outbox.c.event_type == "dev.ciam.consent.state.v1")
        )
    # The grant and its expiry: two entries, versions 1 and 2, for every subject.
    assert sorted((count, top) for _, count, top in per_subject) == [(2, 2)] * SUBJECTS
    assert states == 2 * SUBJECTS


async def someone_waits_for_a_lock(api: Any) -> bool:
    async with api.engine.connect() as connection:
        return bool(
            await connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
        )
