"""Where auth's transactions end: at the edge, never in a use case.

Most routes take `SessionDep` (ciam_shared.service): one transaction per request, committed
before the answer leaves and rolled back on any error. A few routes open their own transaction
(the token endpoint, which must not hold a connection while it only checks a cached client);
they use `transaction` below, which commits the same way.

A rollback on error is right for nearly every refusal: nothing the refused request wrote
should stay. The exception is a refusal that is itself a protective write: a reused refresh
token or authorization code, or a grant found to carry an admin scope, revokes a whole token
family and then answers `invalid_grant`; the revocation must survive that error answer. The
use case says so by raising `CommitThenRefuse(error, after_commit=...)`; `transaction` then
commits what was written, runs the follow-up (the revocation in Redis, which must come after
the database's), and raises `error`. It is the only way a use case asks for a commit, and the
only place a refusal commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class CommitThenRefuse(Exception):
    """Commit what this transaction wrote, then answer `error` (see the module's docstring)."""

    def __init__(
        self, error: Exception, *, after_commit: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.after_commit = after_commit


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One request's transaction, for a route that opens its own: committed when the block
    ends cleanly, rolled back on an error, committed before a `CommitThenRefuse`'s error."""
    async with sessions() as session:
        try:
            yield session
        except CommitThenRefuse as refusal:
            await session.commit()
            if refusal.after_commit is not None:
                await refusal.after_commit()
            raise refusal.error from None
        await session.commit()
