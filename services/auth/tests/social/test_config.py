"""Provider configuration: presets, the algorithm allowlist, Apple's signed client secret."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from pydantic import ValidationError

from ciam_auth.settings import AuthSettings
from ciam_auth.social.config import UpstreamConfig
from ciam_auth.social.fields import with_posted_name
from ciam_auth.social.idtoken import Identity


def test_presets_fill_the_issuer_and_apple_answers_by_form_post() -> None:
    google = UpstreamConfig(id="google", preset="google", client_id="c", client_secret="s")
    assert google.issuer == "https://accounts.google.com"
    assert google.discovery == "https://accounts.google.com/.well-known/openid-configuration"
    facebook = UpstreamConfig(id="facebook", preset="facebook", client_id="c")
    assert facebook.discovery == "https://www.facebook.com/.well-known/openid-configuration/"
    key = ECKey.generate_key("P-256").as_pem(private=True).decode()
    apple = UpstreamConfig(id="apple", preset="apple", client_id="com.shop.web", team_id="T1",
                           key_id="K1", private_key=key)  # fmt: skip
    assert apple.response_mode == "form_post"


def test_symmetric_or_unsigned_algorithms_cannot_be_configured() -> None:
    for algorithms in (["HS256"], ["none"], ["RS256", "HS512"]):
        with pytest.raises(ValidationError):
            UpstreamConfig(id="x", issuer="https://idp.example", client_id="c",
                           algorithms=algorithms)  # fmt: skip
    with pytest.raises(ValidationError):
        UpstreamConfig(id="x", issuer="https://idp.example", client_id="c", scopes=["email"])
    with pytest.raises(ValidationError):
        UpstreamConfig(id="apple", preset="apple", client_id="c")  # no team key


def test_apple_client_secret_is_an_es256_jwt_signed_with_the_team_key() -> None:
    key = ECKey.generate_key("P-256")
    pem = key.as_pem(private=True).decode()
    apple = UpstreamConfig(
        id="apple", preset="apple", client_id="com.shop.web", team_id="TEAM1", key_id="KEY1",
        private_key=pem,
    )  # fmt: skip
    public = ECKey.import_key(key.as_dict(private=False))
    token = jwt.decode(apple.secret(), public, algorithms=["ES256"])
    assert (token.header["alg"], token.header["kid"]) == ("ES256", "KEY1")
    claims = token.claims
    assert (claims["iss"], claims["sub"], claims["aud"]) == (
        "TEAM1", "com.shop.web", "https://appleid.apple.com")  # fmt: skip
    assert claims["iat"] <= time.time() < claims["exp"] <= claims["iat"] + 15777000


def test_providers_come_from_one_json_setting_and_secrets_stay_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AUTH_SOCIAL_PROVIDERS",
        '[{"id": "google", "preset": "google", "client_id": "c", "client_secret": "s3cr3t"},'
        ' {"id": "corp", "issuer": "https://idp.example", "client_id": "c", "enabled": false}]',
    )
    settings = AuthSettings(environment="development")
    assert [p.id for p in settings.social_providers] == ["google", "corp"]
    assert "s3cr3t" not in repr(settings)


@pytest.mark.parametrize(
    ("posted", "expected"),
    [
        ('{"name": {"firstName": " Ada ", "lastName": "Lovelace"}}', ("Ada", "Lovelace")),
        ('{"name": {"firstName": "Ada"}}', ("Ada", None)),
        ("not json", (None, None)),
        ('["a list"]', (None, None)),
        ('{"name": "a string"}', (None, None)),
        ('{"name": {"firstName": ' + '"' + "x" * 300 + '"}}', (None, None)),
        (None, (None, None)),
    ],
)
def test_apple_posted_name_is_taken_only_when_well_formed(
    posted: str | None, expected: tuple[str | None, str | None]
) -> None:
    identity = Identity("https://appleid.apple.com", "001", {"sub": "001"})
    claims = with_posted_name(identity, posted).claims
    assert (claims.get("given_name"), claims.get("family_name")) == expected


def test_apple_posted_name_never_overrides_the_signed_token() -> None:
    identity = Identity("https://appleid.apple.com", "001", {"sub": "001", "given_name": "Real"})
    posted = '{"name": {"firstName": "Fake", "lastName": "Lovelace"}}'
    claims = with_posted_name(identity, posted).claims
    assert claims["given_name"] == "Real" and claims["family_name"] == "Lovelace"
