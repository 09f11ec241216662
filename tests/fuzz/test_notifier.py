"""Schemathesis over the notifier's OpenAPI document: no 5xx, and every answer as the document
says (status code, content type, body). The consent stream (Server-Sent Events) is left out:
its answer never ends, and the in-process transport waits for the end of a body."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, register_app
from ciam_devtools.testing.fuzz import APP, OPERATOR, Fuzz, Target, callers
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.settings import NotifierSettings
from ciam_shared.tokens import scopes

from .conftest import REPORTS, STATIC

FUZZ = Fuzz(
    create_app(NotifierSettings(**STATIC)).openapi(),
    exclude={"GET /v1/streams/consents"},
)
APP_SCOPES = [scopes.NOTIFIER_WEBHOOKS, scopes.NOTIFIER_STREAM]


@pytest.fixture(scope="module")
async def notifier(
    module_database: Callable[[str], Any],
    module_prefix: str,
    kafka_bootstrap: str,
    redis_url: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Target]:
    url = await module_database("ciam_notifier.migrations")
    await register_app(
        kafka_bootstrap, APP, CATALOGUE_PURPOSES, prefix=module_prefix, scopes=APP_SCOPES
    )
    await register_app(
        kafka_bootstrap, OPERATOR, (), prefix=module_prefix, brand=None,
        scopes=[scopes.NOTIFIER_ADMIN],
    )  # fmt: skip
    settings = NotifierSettings(
        **settings_kwargs(
            url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=module_prefix,
            token_issuer=token_issuer,
        )
    )  # fmt: skip
    customer = str(uuid.uuid4())
    async with running(create_app(settings)) as client:
        target = Target(
            client,
            callers(
                token_issuer.mint,
                customer,
                admin_scopes=[scopes.NOTIFIER_ADMIN],
                app_scopes=APP_SCOPES,
                customer_scopes=scopes.CUSTOMER_SCOPES,
            ),
            known={"subject_id": [customer], "purpose": CATALOGUE_PURPOSES},
        )
        REPORTS["notifier"] = target
        yield target


@pytest.mark.parametrize("label", FUZZ.labels)
@FUZZ.settings
@given(data=st.data())
async def test_notifier_answers_as_documented(notifier: Target, label: str, data: Any) -> None:
    await FUZZ.exercise(notifier, label, data)
