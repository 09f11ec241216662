"""httpx's transport (httpcore) asks which async library runs it several times per request, by
importing sniffio; where sniffio is missing each call searched sys.path again (a failed import
is not cached), 10% of auth's CPU on the privacy page's calls to consent. ciam-shared depends
on sniffio so that the import is a lookup in sys.modules."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

from httpcore._synchronization import current_async_library


class Searches(MetaPathFinder):
    """Counts every module the import system has to search for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        self.names.append(fullname)
        return None  # let the real finders answer


def test_asking_for_the_async_library_searches_for_no_module() -> None:
    async def ask() -> list[str]:
        current_async_library()  # the first call may import
        searches = Searches()
        sys.meta_path.insert(0, searches)
        try:
            for _ in range(100):
                assert current_async_library() == "asyncio"
        finally:
            sys.meta_path.remove(searches)
        return searches.names

    assert asyncio.run(ask()) == []
