"""The brand apps the notifier tests' app tokens name, registered at "auth" (published on its
compacted apps topic) before each test's notifier starts, so its app view knows them."""

from __future__ import annotations

import pytest

from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, register_app

APPS = ("shop-backend", "cinema-app")


@pytest.fixture(autouse=True)
async def registered_apps(kafka_bootstrap: str, topic_prefix: str) -> None:
    # Autouse: set up before the tests' own fixtures start the service.
    for client_id in APPS:
        await register_app(kafka_bootstrap, client_id, CATALOGUE_PURPOSES, prefix=topic_prefix)
