"""Schemathesis over the consent service's OpenAPI document: no 5xx, and every answer as the
document says (status code, content type, body)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc.jwk import ECKey

from ciam_consent.main import create_app
from ciam_consent.settings import ConsentSettings
from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, register_app
from ciam_devtools.testing.fuzz import APP, OPERATOR, Fuzz, Target, callers
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import running, settings_kwargs
from ciam_shared.tokens import scopes

from .conftest import REPORTS, STATIC


def _settings(**kwargs: Any) -> ConsentSettings:
    return ConsentSettings(
        **kwargs,
        receipt_signing_key=ECKey.generate_key("P-256").as_pem(private=True).decode(),
    )


FUZZ = Fuzz(create_app(_settings(**STATIC)).openapi())


@pytest.fixture(scope="module")
async def consent(
    module_database: Callable[[str], Any],
    module_prefix: str,
    kafka_bootstrap: str,
    redis_url: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Target]:
    url = await module_database("ciam_consent.migrations")
    app_scopes = [scopes.CONSENT_READ, scopes.CONSENT_WRITE]
    await register_app(
        kafka_bootstrap, APP, CATALOGUE_PURPOSES, prefix=module_prefix, scopes=app_scopes
    )
    await register_app(
        kafka_bootstrap, OPERATOR, (), prefix=module_prefix, brand=None,
        scopes=[scopes.CONSENT_ADMIN],
    )  # fmt: skip
    settings = _settings(
        **settings_kwargs(
            url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=module_prefix,
            token_issuer=token_issuer,
        )
    )  # fmt: skip
    customer = str(uuid.uuid4())
    async with running(create_app(settings)) as client:
        people = callers(
            token_issuer.mint,
            customer,
            admin_scopes=[scopes.CONSENT_ADMIN],
            app_scopes=app_scopes,
            customer_scopes=scopes.CUSTOMER_SCOPES,
        )
        # The customer has a consent, a history and a receipt from the start: the reads reach
        # past "no such subject" whatever order the operations run in.
        granted = await client.post(
            f"/v1/subjects/{customer}/consents/email-marketing/grant",
            json={"channel": "email"},
            headers=await people[2].headers_now(),
        )
        assert granted.status_code == 200, granted.text
        target = Target(
            client,
            people,
            known={
                "subject_id": [customer],
                "purpose": CATALOGUE_PURPOSES,
                "purpose_id": CATALOGUE_PURPOSES,
                "version": [1, 2],
                "brand": ["acme"],
            },
        )
        REPORTS["consent"] = target
        yield target


@pytest.mark.parametrize("label", FUZZ.labels)
@FUZZ.settings
@given(data=st.data())
async def test_consent_answers_as_documented(consent: Target, label: str, data: Any) -> None:
    await FUZZ.exercise(consent, label, data)
