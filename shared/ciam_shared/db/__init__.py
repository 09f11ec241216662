"""SQLAlchemy 2 async: one naming convention, engines, sessions, a unit of work."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """Each service builds its own metadata (its own schema), all with one naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp (`timestamptz`) that refuses naive datetimes. The DDL is
    plain `DateTime(timezone=True)`, which is what the migrations declare."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware (UTC) datetime")
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def TimestampTZ() -> UTCDateTime:
    return UTCDateTime()


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class ServiceBase(DeclarativeBase):
    """Not used directly: each service declares `class Base(ServiceBase)` with its metadata."""

    __abstract__ = True


def create_engine(
    url: str, *, echo: bool = False, pre_ping: bool = True, pool_size: int = 10
) -> AsyncEngine:
    """`pre_ping`: test each pooled connection when it is checked out (with asyncpg that is
    three round trips: BEGIN, an empty statement, ROLLBACK). Without it a connection the
    server dropped fails its first statement, and SQLAlchemy then discards the whole pool.
    `pool_size`: connections kept open; up to as many again are opened under load and closed
    as soon as they are returned (a new connection per request beyond `pool_size`)."""
    # hide_parameters: a database error's text leaves out the statement's values, which are
    # password hashes, token hashes and addresses here, so a logged exception shows none.
    kwargs: dict[str, object] = {"echo": echo, "hide_parameters": True}
    kwargs |= {"pool_pre_ping": pre_ping, "pool_size": pool_size, "max_overflow": pool_size}
    return create_async_engine(url, **kwargs)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One use case, one transaction: commits when the block ends cleanly, else rolls back."""
    async with sessions() as session, session.begin():
        yield session


_AFTER_COMMIT = "ciam_after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction commits (never on rollback)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def has_work(session: AsyncSession) -> bool:
    """Whether committing `session` would do anything: a transaction begun (a statement ran),
    objects added, changed or deleted, or a callback waiting for the commit."""
    return bool(
        session.in_transaction()
        or session.new
        or session.dirty
        or session.deleted
        or session.info.get(_AFTER_COMMIT)
    )


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def is_postgres(engine: AsyncEngine | Engine) -> bool:
    return engine.dialect.name == "postgresql"


__all__ = [
    "NAMING_CONVENTION",
    "ServiceBase",
    "TimestampTZ",
    "UTCDateTime",
    "after_commit",
    "create_engine",
    "create_session_factory",
    "has_work",
    "is_postgres",
    "new_id",
    "new_metadata",
    "unit_of_work",
    "utcnow",
]
