"""The internal auth-API client's reading of answers, against a stand-in token endpoint and
internal API (httpx's MockTransport): the end-to-end paths run against the real auth service
in the notifier's confirmation tests and the profile's social-import tests."""

import uuid
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from ciam_shared.tokens.internal import InternalApiUnavailable, InternalAuthApi

SUBJECT = uuid.UUID(int=7)


def _api(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[InternalAuthApi, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "t1", "expires_in": 300})
        seen.append(f"{request.url.path} {request.headers['authorization']}")
        return answer(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return InternalAuthApi(http, "http://auth/", "notifier", SecretStr("s3cret"), "x"), seen


async def test_a_json_object_is_returned_and_the_token_sent() -> None:
    api, seen = _api(lambda r: httpx.Response(200, json={"email": "a@example.com"}))
    assert await api.get("contacts", SUBJECT) == {"email": "a@example.com"}
    assert seen == [f"/v1/internal/contacts/{SUBJECT} Bearer t1"]
    assert "s3cret" not in repr(api)


async def test_account_not_found_is_none_but_a_bare_404_is_unavailable() -> None:
    gone, _ = _api(lambda r: httpx.Response(404, json={"type": "https://x/account-not-found"}))
    assert await gone.get("contacts", SUBJECT) is None
    wrong_url, _ = _api(lambda r: httpx.Response(404, text="Not Found"))
    with pytest.raises(InternalApiUnavailable, match="contacts: HTTP 404"):
        await wrong_url.get("contacts", SUBJECT)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx.Response(503), "social-imports: HTTP 503"),
        (httpx.Response(200, text="not json"), "social-imports: malformed response"),
        (httpx.Response(200, json=["a list"]), "social-imports: malformed response"),
    ],
)
async def test_what_is_not_an_answer_is_unavailable(response: httpx.Response, reason: str) -> None:
    api, _ = _api(lambda r: response)
    with pytest.raises(InternalApiUnavailable, match=reason):
        await api.get("social-imports", SUBJECT)
