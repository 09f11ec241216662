"""`has_work`: whether committing a session would do anything (auth's request transaction
skips the ORM's commit when it would not: a refresh touches no session)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ciam_shared.db import after_commit, create_engine, create_session_factory, has_work


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(20))


async def test_only_an_untouched_session_has_no_work(fresh_database: Any) -> None:
    engine = create_engine(await fresh_database())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sessions = create_session_factory(engine)

        async with sessions() as session:
            assert not has_work(session)
            await session.execute(text("SELECT 1"))
            assert has_work(session)  # a transaction began: it ends with a commit

        async with sessions() as session:
            session.add(Note(id=1, text="pending"))
            assert has_work(session)  # not flushed yet (no autoflush): the commit flushes it
            await session.commit()

        async with sessions() as session:
            note = await session.get(Note, 1)
            assert note is not None
            await session.commit()
            assert not has_work(session)
            note.text = "changed"
            assert has_work(session)
            await session.rollback()

        async with sessions() as session:
            called: list[bool] = []
            after_commit(session, lambda: called.append(True))
            assert has_work(session)
            await session.commit()
            assert called == [True]
            assert not has_work(session)
    finally:
        await engine.dispose()
