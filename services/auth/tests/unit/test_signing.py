"""The token signer (a hand-written compact JWS) against joserfc, and the jti's family."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, KeySet

from ciam_auth.oidc.grants import family_of_jti
from ciam_auth.oidc.keys import ALG, KeyEncryption, KeyRing, LoadedKey
from ciam_auth.oidc.tokens import ACCESS_TYP, TokenIssuer
from ciam_shared.db import utcnow


def _ring() -> tuple[KeyRing, ECKey]:
    key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": ALG, "use": "sig"})
    ring = KeyRing(KeyEncryption("a test secret"), timedelta(hours=1))
    ring._keys = [LoadedKey("k1", key, utcnow(), None)]  # as load() leaves them
    ring._public = KeySet([key])
    return ring, key


def test_a_signed_token_verifies_with_joserfc_with_its_header_and_claims() -> None:
    ring, key = _ring()
    claims = {"sub": "zażółć", "aud": ["a", "b"], "exp": 2_000_000_000, "amr": ["pwd"]}
    token = ring.sign(claims, typ=ACCESS_TYP)
    decoded = jwt.decode(token, key, algorithms=[ALG])
    assert decoded.header == {"alg": ALG, "typ": ACCESS_TYP, "kid": "k1"}
    assert dict(decoded.claims) == claims
    header, _, signature = token.split(".")
    other = ring.sign(claims | {"sub": "someone else"}, typ=ACCESS_TYP).split(".")[1]
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{other}.{signature}", key, algorithms=[ALG])


def test_a_users_access_token_names_its_family_in_the_jti_and_an_apps_does_not() -> None:
    ring, _ = _ring()
    issuer = TokenIssuer(ring, issuer="http://auth", audience="ciam", access_ttl_s=60, id_ttl_s=60)
    family = uuid.uuid4()
    token, jti = issuer.access_token(sub="s", client_id="c", scope="openid", family=family)
    assert family_of_jti(jti) == family
    assert issuer.verify_own(token, typ=ACCESS_TYP)["jti"] == jti
    _, app_jti = issuer.access_token(sub="c", client_id="c", scope="consent:read")
    assert family_of_jti(app_jti) is None
    assert family_of_jti("not-hex.abc") is None
