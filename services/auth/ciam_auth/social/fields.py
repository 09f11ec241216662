"""The profile fields a customer may let the brand import, and which claims carry them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ciam_auth.social.idtoken import Identity

# field -> the claims (OIDC Core 5.1) that make it up
FIELD_CLAIMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "given_name", "family_name"),
    "email": ("email",),
    "picture": ("picture",),
    "locale": ("locale",),
    "birthday": ("birthdate",),
}
# A claim longer than this is garbage, not a name or a picture URL: it is not offered.
MAX_VALUE = 2048


def offered(identity: Identity) -> dict[str, Any]:
    """The fields this provider sent, with their values (only strings: garbage is dropped)."""
    result: dict[str, Any] = {}
    for name, claims in FIELD_CLAIMS.items():
        values = {
            c: identity.claims[c]
            for c in claims
            if isinstance(identity.claims.get(c), str) and 0 < len(identity.claims[c]) <= MAX_VALUE
        }
        if name == "email" and not identity.email:
            continue
        if values:
            result[name] = values
    return result


def with_posted_name(identity: Identity, posted: str | None) -> Identity:
    """Apple's `user` field: `{"name": {"firstName": .., "lastName": ..}, "email": ..}`, sent
    only at the first authorization. It is not signed, but it travels in the same state- and
    PKCE-bound response as the code, so it can only be the customer's own answer; only the
    name is taken (the address comes from the signed ID token) and only where the token has
    none. Anything malformed is ignored: the name is a nicety, never a reason to refuse."""
    if not posted or len(posted) > MAX_VALUE:
        return identity
    try:
        name = json.loads(posted).get("name")
    except (ValueError, AttributeError):
        return identity
    if not isinstance(name, dict):
        return identity
    claims = dict(identity.claims)
    for claim, key in (("given_name", "firstName"), ("family_name", "lastName")):
        value = name.get(key)
        if claim not in claims and isinstance(value, str) and 0 < len(value.strip()) <= 200:
            claims[claim] = value.strip()
    return dataclasses.replace(identity, claims=claims)


def allowed(offered_values: dict[str, Any], chosen: list[str]) -> dict[str, Any]:
    return {name: offered_values[name] for name in chosen if name in offered_values}
