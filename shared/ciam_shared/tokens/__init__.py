"""Access tokens of the auth service, verified locally by every service's API.

verifier = TokenVerifier("https://auth.example", "ciam")      # ServiceRuntime builds it
principal = await bearer_principal(request, admin_scope="consent:admin")
"""

from ciam_shared.tokens.dependency import bearer_principal, bearer_token
from ciam_shared.tokens.jwks import JwksUnavailable, KeyStore, parse_jwks
from ciam_shared.tokens.principal import (
    AccessToken,
    Forbidden,
    Kind,
    NotAuthenticated,
    Principal,
    TokenVerificationUnavailable,
    principal_of,
)
from ciam_shared.tokens.verifier import KeysNotCached, TokenVerifier

__all__ = [
    "AccessToken",
    "Forbidden",
    "JwksUnavailable",
    "KeyStore",
    "KeysNotCached",
    "Kind",
    "NotAuthenticated",
    "Principal",
    "TokenVerificationUnavailable",
    "TokenVerifier",
    "bearer_principal",
    "bearer_token",
    "parse_jwks",
    "principal_of",
]
