"""Who may hold which scope, and through which grant (the model: docs/security.md).

- Admin scopes belong to operator clients: a client that holds one has no redirect URI and no
  authorization code grant, so no customer can ever be issued one. They come from client
  credentials only, and only to a client that is an operator client by this rule.
- Customer scopes act for a signed-in customer: they come from the authorization code grant
  (and its refreshes) only, never from client credentials, where no customer is named.

The registration paths (admin API, declared service clients, CLI) refuse what breaks these
rules; the grants check them again, because a row written before the rules (or by hand) may
still break them: such a client keeps its other scopes and never gets an admin scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from ciam_shared.tokens.scopes import ADMIN_SCOPES, CUSTOMER_SCOPES

# The OpenID Connect scopes: about the signed-in customer, meaningless in client credentials.
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


class Registered(Protocol):
    """What the rules read of a stored client (an `OAuthClient` row has it): the rules stay
    free of the database, so the settings can apply them to a declaration."""

    @property
    def scopes(self) -> Sequence[str]: ...
    @property
    def redirect_uris(self) -> Sequence[str]: ...
    @property
    def post_logout_redirect_uris(self) -> Sequence[str]: ...
    @property
    def grant_types(self) -> Sequence[str]: ...


def admin_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted({s for s in scopes if s in ADMIN_SCOPES})


def customer_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted({s for s in scopes if s in CUSTOMER_SCOPES})


def registration_problem(
    *,
    scopes: Iterable[str],
    redirect_uris: Iterable[str],
    post_logout_redirect_uris: Iterable[str],
    grant_types: Iterable[str],
) -> str | None:
    """Why a registration breaks the model, or None."""
    grants = set(grant_types)
    scopes = list(scopes)
    if admin := admin_scopes(scopes):
        held = " ".join(admin)
        if list(redirect_uris) or list(post_logout_redirect_uris):
            return (
                f"A client with an admin scope ({held}) is an operator client: it cannot have "
                "redirect URIs. Register the operator and the app as two clients."
            )
        if "authorization_code" in grants or "refresh_token" in grants:
            return (
                f"A client with an admin scope ({held}) uses client credentials only: admin "
                "scopes are never issued for a customer."
            )
    if (customer := customer_scopes(scopes)) and "authorization_code" not in grants:
        return (
            f"Customer scopes ({' '.join(customer)}) act for a signed-in customer: they need "
            "the authorization code grant."
        )
    return None


def is_operator(client: Registered) -> bool:
    """An operator client: holds an admin scope, and could never have asked for it on a
    customer's behalf (no redirect URI, no authorization code grant)."""
    return (
        bool(admin_scopes(client.scopes))
        and not client.redirect_uris
        and not client.post_logout_redirect_uris
        and "authorization_code" not in client.grant_types
    )


def client_credentials_scopes(client: Registered) -> list[str]:
    """The scopes a client may get for itself: its API scopes, without the OIDC and customer
    scopes (no customer is named), and its admin scopes only if it is an operator client."""
    operator = is_operator(client)
    return [
        s
        for s in client.scopes
        if s not in OIDC_SCOPES and s not in CUSTOMER_SCOPES and (operator or s not in ADMIN_SCOPES)
    ]
