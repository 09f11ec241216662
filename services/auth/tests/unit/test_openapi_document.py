"""The auth service's OpenAPI document is valid enough for a generator to read: one operation
id per operation (a route serving GET and POST once shared one)."""

from __future__ import annotations

import secrets
from collections import Counter

from ciam_auth.main import create_app
from ciam_auth.settings import AuthSettings


def test_every_operation_has_its_own_operation_id() -> None:
    settings = AuthSettings(
        database_url="postgresql+asyncpg://unused/unused",
        environment="test",
        key_encryption_secret=secrets.token_urlsafe(32),
    )
    # FastAPI warns about a duplicate while it builds the document; warnings are errors here.
    document = create_app(settings).openapi()
    ids = Counter(
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    )
    assert [name for name, count in ids.items() if count > 1] == []
    assert {"get", "post"} <= set(document["paths"]["/userinfo"])
