"""The profile fields a customer may let the brand import, and which claims carry them."""

from __future__ import annotations

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


def allowed(offered_values: dict[str, Any], chosen: list[str]) -> dict[str, Any]:
    return {name: offered_values[name] for name in chosen if name in offered_values}
