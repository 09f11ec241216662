"""Where auth's transactions end: at the edge, never in a use case.

Every route takes `SessionDep` below (not ciam_shared.service's, which knows nothing of
`CommitThenRefuse`): one transaction per request, committed before the answer leaves and rolled
back on any error. A few routes open their own transaction (the token endpoint, which must not
hold a connection while it only checks a cached client); they use `transaction` below, which
commits the same way (`SessionDep` is `transaction` around the request).

A rollback on error is right for nearly every refusal: nothing the refused request wrote
should stay. The exception is a refusal that is itself a protective write: a reused refresh
token or authorization code, or a grant found to carry an admin scope, revokes a whole token
family and then answers `invalid_grant`; a wrong emailed code is counted (at `code_attempts`
wrong tries the code is burnt) and then answers `InvalidToken`. What they wrote must survive
that error answer. The use case says so by raising `CommitThenRefuse(error, after_commit=...)`;
`transaction` then commits what was written, runs the follow-up (the revocation in Redis,
which must come after the database's), and raises `error`. It is the only way a use case asks
for a commit, and the only place a refusal commits. A page that renders such an `error` itself
(a 400 page, a normal answer, which commits) takes it through `refusal_as_error`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_shared.db import has_work
from ciam_shared.service import RuntimeDep


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
        if has_work(session):  # a request that touched nothing (a refresh) skips the ORM's commit
            await session.commit()


@asynccontextmanager
async def refusal_as_error() -> AsyncIterator[None]:
    """Around a use case whose refusal a page renders as its own (normal) answer, which
    commits the request's transaction anyway: a `CommitThenRefuse` becomes its plain error.
    One with a follow-up stays as it is (the follow-up must run after the commit)."""
    try:
        yield
    except CommitThenRefuse as refusal:
        if refusal.after_commit is not None:
            raise
        raise refusal.error from None


async def _request_transaction(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """The request's transaction. scope="function": it ends (commit, or the refusal's commit and
    error) before the response is sent, and the error reaches the problem handlers."""
    async with transaction(runtime.sessions) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_request_transaction, scope="function")]
