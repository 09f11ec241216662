"""Links in mails use the auth service's public URL, a setting: never a fixed port."""

from __future__ import annotations

from ciam_auth.settings import AuthSettings


def test_links_follow_the_public_url_or_else_the_issuer_and_never_a_fixed_port() -> None:
    moved = AuthSettings(environment="development", port=28001, token_issuer="")
    assert moved.public_base_url == "http://127.0.0.1:28001"
    behind = AuthSettings(environment="development", token_issuer="https://id.example/")
    assert behind.public_base_url == "https://id.example"
    named = AuthSettings(environment="development", public_url="https://login.example/")
    assert named.public_base_url == "https://login.example"
