"""The background sweep of exports: archives past their time are removed and exports past
their answer deadline are failed. Rows are claimed with FOR UPDATE SKIP LOCKED, so any number
of replicas run it and each row is handled once; the loop is `adapters.worker.Worker`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_auth.adapters.worker import Worker
from ciam_auth.datarights.service import exports
from ciam_shared.db import unit_of_work


class ExportSweeper:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], poll_seconds: float) -> None:
        self.sessions = sessions
        self.worker = Worker("export-sweeper", self.sweep_once, poll_seconds)

    async def sweep_once(self) -> bool:
        """One batch in one transaction; True while it found work (the loop runs it again)."""
        async with unit_of_work(self.sessions) as session:
            return await exports.sweep(session) > 0

    async def run(self) -> None:
        await self.worker.run()
