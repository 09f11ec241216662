"""Work done after the answer has left: the steps whose cost depends on whether an account
exists (looking it up, writing it, issuing a token), so that the answer's timing cannot tell.

Durable: the request commits an `account_jobs` row (never a plaintext password: registration
stores the argon2 hash it computed for every address alike). A worker claims one due row
(FOR UPDATE SKIP LOCKED: replicas never run a job twice), runs its handler in the same
transaction and deletes the row there: the job's writes and its removal commit together, so
a crash at any point leaves either the job or its whole effect. A handler that fails is rolled
back to a savepoint and tried again later with backoff; after `max_attempts` it is given up with
a log line naming the row, never the address.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_auth.adapters.worker import Retry, Worker
from ciam_auth.models import AccountJob
from ciam_auth.queues import repository as queues
from ciam_shared.db import after_commit, new_id, unit_of_work, utcnow

log = logging.getLogger(__name__)

JOB_RETRY = Retry(max_attempts=5)

Handler = Callable[[AsyncSession, AccountJob], Awaitable[None]]


class Jobs:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        retry: Retry = JOB_RETRY,
        poll_seconds: float = 5.0,
    ) -> None:
        self.sessions, self.retry = sessions, retry
        self.handlers: dict[str, Handler] = {}
        self.worker = Worker("jobs", self.run_due, poll_seconds)

    def on(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def submit(
        self,
        session: AsyncSession,
        kind: str,
        *,
        email: str,
        password_hash: str | None = None,
        locale: str = "en",
        channel: str = "web",
    ) -> None:
        """Queue a job in the session's transaction; the worker wakes once it commits."""
        now = utcnow()
        session.add(
            AccountJob(
                id=new_id(),
                kind=kind,
                email=email,
                password_hash=password_hash,
                locale=locale,
                channel=channel,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )
        after_commit(session, self.worker.wake)

    async def run(self) -> None:
        await self.worker.run()

    async def idle(self) -> bool:
        """Nothing queued and nothing running (tests wait for it before they end)."""
        if self.worker.busy():
            return False
        async with self.sessions() as session:
            return await queues.jobs_waiting(session) == 0

    async def run_due(self) -> bool:
        async with unit_of_work(self.sessions) as session:
            job = await queues.claim_job(session, utcnow())
            if job is None:
                return False
            handler = self.handlers.get(job.kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                async with session.begin_nested():
                    await handler(session, job)
            except Exception as exc:
                self._failed(job, exc)
                if job.attempts >= self.retry.max_attempts:
                    await session.delete(job)
                return True
            await session.delete(job)
        return True

    def _failed(self, job: AccountJob, exc: Exception) -> None:
        job.attempts += 1
        job.next_attempt_at = self.retry.next_attempt(job.attempts, utcnow())
        if job.attempts >= self.retry.max_attempts:
            log.error("job %s (%s) given up after %d attempts", job.id, job.kind, job.attempts)
        else:
            # The exception's text may quote the address (a constraint's detail): only its type.
            log.warning(
                "job %s (%s) failed (attempt %d): %s",
                job.id,
                job.kind,
                job.attempts,
                type(exc).__name__,
            )
