"""Schemathesis over the profile service's OpenAPI document: no 5xx, and every answer as the
document says (status code, content type, body)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciam_devtools.testing.apps import CATALOGUE_PURPOSES, register_app
from ciam_devtools.testing.fuzz import APP, OPERATOR, Fuzz, Target, callers
from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, running, settings_kwargs
from ciam_profile.main import create_app
from ciam_profile.settings import ProfileSettings
from ciam_shared.events import CloudEvent, PurposeDefined, UserRegistered
from ciam_shared.tokens import scopes
from ciam_shared.topics import ALL_TOPICS, ensure_topics

from .conftest import REPORTS, STATIC

FUZZ = Fuzz(create_app(ProfileSettings(**STATIC)).openapi())

APP_SCOPES = [scopes.PROFILE_READ, scopes.PROFILE_WRITE, scopes.PROFILE_TRACK]
# The purposes the consent service's catalogue defines, as profile reads them from its topic.
PURPOSES = {
    "analytics": ["behavioural"],
    "personalisation": ["descriptive", "attitudinal", "behavioural"],
    "email-marketing": ["identity", "attitudinal"],
    "order-fulfilment": ["identity", "descriptive"],
}


async def _publish_catalogue(kafka: str, prefix: str) -> None:
    for purpose, kinds in PURPOSES.items():
        defined = PurposeDefined(
            purpose_id=purpose, legal_basis="dpv:Consent", data_categories=kinds, channels=[],
            sale_or_share=False, current_version=1, min_valid_version=1,
            defined_at=datetime.now(UTC),
        )  # fmt: skip
        await publish_event(kafka, CloudEvent.wrap(defined, source="/ciam/consent"), prefix=prefix)


@pytest.fixture(scope="module")
async def profile(
    module_database: Callable[[str], Any],
    module_prefix: str,
    kafka_bootstrap: str,
    redis_url: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Target]:
    url = await module_database("ciam_profile.migrations")
    await ensure_topics(kafka_bootstrap, ALL_TOPICS, prefix=module_prefix)
    await _publish_catalogue(kafka_bootstrap, module_prefix)
    await register_app(
        kafka_bootstrap, APP, CATALOGUE_PURPOSES, prefix=module_prefix, scopes=APP_SCOPES
    )
    await register_app(
        kafka_bootstrap, OPERATOR, (), prefix=module_prefix, brand=None,
        scopes=[scopes.PROFILE_ADMIN],
    )  # fmt: skip
    settings = ProfileSettings(
        **settings_kwargs(
            url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=module_prefix,
            token_issuer=token_issuer,
        )
    )  # fmt: skip
    customer = uuid.uuid4()
    operator, *_ = callers_ = callers(
        token_issuer.mint,
        str(customer),
        admin_scopes=[scopes.PROFILE_ADMIN],
        app_scopes=APP_SCOPES,
        customer_scopes=scopes.CUSTOMER_SCOPES,
    )
    async with running(create_app(settings)) as client:
        # The customer has a profile (auth's UserRegistered), so their requests reach it.
        registered = UserRegistered(subject_id=customer, registered_at=datetime.now(UTC))
        await publish_event(
            kafka_bootstrap, CloudEvent.wrap(registered, source="/tests"), prefix=module_prefix
        )

        async def exists() -> bool:
            found = await client.get(f"/v1/profiles/{customer}", headers=dict(operator.headers))
            return found.status_code == 200

        await eventually(exists)
        target = Target(
            client,
            callers_,
            known={
                "subject_id": [str(customer)],
                "purpose": list(PURPOSES),
                "kind": ["identity", "descriptive", "attitudinal", "behavioural"],
            },
        )
        REPORTS["profile"] = target
        yield target


@pytest.mark.parametrize("label", FUZZ.labels)
@FUZZ.settings
@given(data=st.data())
async def test_profile_answers_as_documented(profile: Target, label: str, data: Any) -> None:
    await FUZZ.exercise(profile, label, data)
