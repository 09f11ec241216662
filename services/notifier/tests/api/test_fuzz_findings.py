"""What reading the fuzz run's gaps (tests/fuzz leaves the SSE stream out) found."""

from __future__ import annotations

import uuid

from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.settings import NotifierSettings


async def test_a_stream_position_beyond_any_event_is_refused_before_the_stream_starts(
    fresh_database, kafka_bootstrap: str, redis_url: str, topic_prefix: str,
    token_issuer: TokenIssuer,
) -> None:  # fmt: skip
    # Once a 500 in the making: the stream answered 200, then its first query failed (the
    # position does not fit the BIGINT sequence) and the connection broke.
    url = await fresh_database("ciam_notifier.migrations")
    settings = NotifierSettings(
        **settings_kwargs(
            url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        )
    )  # fmt: skip
    customer = token_issuer.mint(str(uuid.uuid4()), client_id="shop-backend")
    async with running(create_app(settings)) as client:
        response = await client.get(
            "/v1/streams/consents", params={"after": 2**63}, headers=token_issuer.bearer(customer)
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
