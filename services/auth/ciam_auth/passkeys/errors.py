"""The passkey capability's refusals, each with its status (one problem handler renders them)."""

from __future__ import annotations

from ciam_shared.http.problems import DomainError


class PasskeyRefused(DomainError):
    """One answer for every failed ceremony (unknown credential, wrong origin or RP id, spent
    or expired challenge, no user verification, bad signature): the reason goes to the log."""

    status = 401
    type_slug = "passkey-refused"
    title = "Passkey not accepted"


class PasskeyAlreadyRegistered(DomainError):
    """The credential id is registered already (to this or another account)."""

    status = 409
    type_slug = "passkey-already-registered"
    title = "This passkey is registered already"


class PasskeyNotFound(DomainError):
    status = 404
    type_slug = "passkey-not-found"
    title = "Passkey not found"


class LastWayIn(DomainError):
    """Removing it would leave the account without a password, a linked identity or another
    passkey: nobody could sign in to it any more."""

    status = 409
    type_slug = "last-sign-in-method"
    title = "The last way to sign in cannot be removed"


class FreshSignInRequired(DomainError):
    """Adding a passkey needs a sign-in within the re-authentication window."""

    status = 403
    type_slug = "fresh-sign-in-required"
    title = "Sign in again first"
