import ipaddress
import time
from datetime import timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from ciam_notifier import signing
from ciam_notifier.errors import UnsafeWebhookUrl
from ciam_notifier.service.delivery import Policy, backoff
from ciam_notifier.ssrf import WebhookGuard, check_url


def test_a_standard_webhooks_library_verifies_our_signature() -> None:
    secret = signing.new_secret()
    body = b'{"type":"dev.ciam.consent.withdrawn.v1","data":{}}'
    headers = signing.headers([secret], "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {
        "type": "dev.ciam.consent.withdrawn.v1",
        "data": {},
    }


def test_a_tampered_body_or_a_wrong_secret_fails_verification() -> None:
    secret = signing.new_secret()
    body = b'{"a":1}'
    headers = signing.headers([secret], "msg_1", int(time.time()), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)


def test_after_rotation_both_secrets_verify() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body = b"{}"
    headers = signing.headers([new, old], "msg_1", int(time.time()), body)
    assert Webhook(old).verify(body, headers) == {}
    assert Webhook(new).verify(body, headers) == {}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "ftp://example.com/hook",
        "http://user:pw@127.0.0.1/hook",
    ],
)
async def test_private_and_odd_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        await check_url(url, [])


async def test_an_allowlisted_network_is_accepted() -> None:
    await check_url("http://127.0.0.1:8080/hook", [ipaddress.ip_network("127.0.0.0/8")])


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = Policy(timedelta(hours=24), 1.0, 60.0, 8, 1.0, WebhookGuard(), "")
    for attempts, ceiling in [(1, 1.0), (2, 2.0), (5, 16.0), (20, 60.0)]:
        delays = [backoff(policy, attempts) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > 0  # jittered
