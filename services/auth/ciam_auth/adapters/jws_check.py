"""Verifying a compact JWS signed by someone else (an upstream provider's ID token, a client's
assertion): read the header, pick the one key that fits, check the signature, parse the claims.

The algorithm allowlist always comes from our side, never from the token: `none` and HS256
(with a public key as the HMAC secret) are simply not in any list. Checking the claims is the
caller's job: a signature says nothing about who the token is for or when.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from ciam_shared.tokens.header import HeaderRefused, jose_header

KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}
PublicKey = ECKey | RSAKey


class Refused(Exception):
    """The JWS is not acceptable; the message is the reason (never the token's contents)."""


def header_of(token: str, algorithms: Collection[str]) -> tuple[dict[str, Any], str]:
    """The protected header and its algorithm, once it is known to be one we accept (the
    shared checks of `ciam_shared.tokens.header`)."""
    try:
        header = jose_header(token, algorithms)
    except HeaderRefused as exc:
        raise Refused(str(exc)) from None
    return header.fields, header.alg


def pick_key(keys: Iterable[object], kid: str | None, alg: str) -> PublicKey | None:
    """The key for `alg` (and `kid`): it must fit the algorithm (an RSA key never verifies an
    ES256 token); without a kid it must be the only one that fits."""
    kty = KEY_TYPES.get(alg[:2])
    fitting = [
        k
        for k in keys
        if isinstance(k, ECKey | RSAKey)
        and k.key_type == kty
        and (kid is None or k.kid == kid)
        and k.get("use", "sig") == "sig"
        and k.get("alg", alg) == alg
    ]
    if len(fitting) == 1 or (kid is not None and fitting):
        return fitting[0]
    return None


def verified_claims(token: str, key: PublicKey, alg: str) -> dict[str, Any]:
    try:
        verified = jws.deserialize_compact(token, key, algorithms=[alg])
    except (JoseError, ValueError):
        raise Refused("bad signature") from None
    try:
        claims = json.loads(verified.payload)
    except ValueError:
        raise Refused("payload is not JSON") from None
    if not isinstance(claims, dict):
        raise Refused("payload is not a JSON object")
    return claims
