"""The scope vocabulary of the platform, in one place (the model: docs/security.md).

Three principals (`Kind`): a customer acting through an app (authorization code: `sub` is the
account id), an app acting for itself (client credentials: `sub` == `client_id`), an operator
(client credentials of a client that holds an admin scope and has no redirect URI).

- Customer scopes are the only service scopes the authorization-code grant issues and the
  consent screen shows; each lets the app do one thing for the signed-in customer alone.
- App scopes are for client credentials: the app acting on its own behalf.
- Admin scopes are for operator clients only: never issued through the authorization-code
  grant, never shown on a consent screen, and a client holding one has no redirect URI.

`FIRST_PARTY_CLIENT` is the auth service itself (its account and privacy pages): a customer
token it mints for its own pages may act on every purpose and brand of that customer.
"""

from __future__ import annotations

from typing import Final

FIRST_PARTY_CLIENT: Final = "ciam-auth"

# Customer-delegated: the token's `sub` is the customer, and only their own data is reachable.
MY_CONSENTS_READ: Final = "me:consents:read"
MY_CONSENTS_WRITE: Final = "me:consents:write"
MY_PROFILE_READ: Final = "me:profile:read"
MY_PROFILE_WRITE: Final = "me:profile:write"
MY_PROFILE_EXPORT: Final = "me:profile:export"

CUSTOMER_SCOPES: Final = frozenset(
    {MY_CONSENTS_READ, MY_CONSENTS_WRITE, MY_PROFILE_READ, MY_PROFILE_WRITE, MY_PROFILE_EXPORT}
)

# An app on its own behalf (client credentials).
CONSENT_READ: Final = "consent:read"
CONSENT_WRITE: Final = "consent:write"
PROFILE_READ: Final = "profile:read"
PROFILE_WRITE: Final = "profile:write"  # or `profile:write:<kind>` for one data kind
PROFILE_TRACK: Final = "profile:track"
NOTIFIER_WEBHOOKS: Final = "notifier:webhooks"  # manage its webhook subscriptions
NOTIFIER_STREAM: Final = "notifier:stream"  # the all-subjects SSE stream
AUTH_CONTACTS: Final = "auth:contacts"  # the internal contacts API (service clients)

# Operators only (client credentials of an operator client).
AUTH_ADMIN: Final = "auth:admin"
CONSENT_ADMIN: Final = "consent:admin"
PROFILE_ADMIN: Final = "profile:admin"
NOTIFIER_ADMIN: Final = "notifier:admin"

ADMIN_SCOPES: Final = frozenset({AUTH_ADMIN, CONSENT_ADMIN, PROFILE_ADMIN, NOTIFIER_ADMIN})


def is_admin_scope(scope: str) -> bool:
    return scope in ADMIN_SCOPES
