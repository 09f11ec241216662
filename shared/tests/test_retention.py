"""Pruning of the bookkeeping tables against real PostgreSQL: sent outbox rows and processed
event ids older than their retention go, everything else stays."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import MetaData, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ciam_shared import retention
from ciam_shared.db import create_engine, new_metadata, utcnow
from ciam_shared.inbox import processed_events_table
from ciam_shared.outbox import outbox_table

metadata: MetaData = new_metadata()
outbox = outbox_table(metadata)
processed = processed_events_table(metadata)
WEEK = timedelta(days=7)


def outbox_row(created_days_ago: float, sent_days_ago: float | None) -> dict[str, object]:
    now = utcnow()
    return {
        "event_id": uuid.uuid4(),
        "topic": "t",
        "key": "k",
        "event_type": "x",
        "headers": {},
        "payload": b"{}",
        "created_at": now - timedelta(days=created_days_ago),
        "sent_at": None if sent_days_ago is None else now - timedelta(days=sent_days_ago),
        "attempts": 0,
    }


async def test_sent_rows_past_retention_go_and_the_rest_stay(fresh_database, monkeypatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 3)  # several batches
    engine = create_engine(await fresh_database())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(
                outbox.insert(),
                [outbox_row(9, 8) for _ in range(7)]  # sent 8 days ago: pruned
                + [outbox_row(9, None)]  # never sent (the broker was down): kept
                + [outbox_row(2, 1), outbox_row(9, 6.9)],  # sent recently: kept
            )
            now = utcnow()
            await connection.execute(
                processed.insert(),
                [
                    {
                        "consumer": "c",
                        "event_id": uuid.uuid4(),
                        "processed_at": now - timedelta(days=d),
                    }
                    for d in (31, 31, 40, 45, 29, 1)
                ],
            )
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        assert await retention.prune_outbox(sessions, outbox, WEEK) == 7
        assert await retention.prune_processed(sessions, processed, timedelta(days=30)) == 4
        async with engine.connect() as connection:
            left = (await connection.execute(select(outbox.c.sent_at))).scalars().all()
            assert len(left) == 3 and sum(s is None for s in left) == 1
            ages = (await connection.execute(select(processed.c.processed_at))).scalars().all()
            assert sorted((utcnow() - a).days for a in ages) == [1, 29]
        # Again: nothing more to prune.
        assert await retention.prune_outbox(sessions, outbox, WEEK) == 0
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(outbox)) == 3
    finally:
        await engine.dispose()
