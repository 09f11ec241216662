"""What a brand app may do beyond its token: the token says who it is, the auth service's
registration (followed from the compacted apps topic, e.g. by the SDK's `BrandAppView`) says
whether it still exists, which brand it belongs to and which purposes it declared.

A token stays valid until it expires, so a deleted app's token is refused here, by the
registration, not by the signature. The same holds for a customer's token issued through a
third-party app (`Principal.delegate`): the app acts for the customer, so the customer's token
stops with the app and reaches only the purposes the app declared. Admins and the first-party
client (the auth service itself, which is in no directory) are not held to a registration.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ciam_shared.tokens.principal import Forbidden, Kind, Principal


class RegisteredApp(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def brand(self) -> str | None: ...

    @property
    def purposes(self) -> list[str]: ...


class AppDirectory(Protocol):
    def get(self, client_id: str) -> RegisteredApp | None: ...


class AppUnknown(Forbidden):
    type_slug = "app-unknown"
    title = "Unknown app"


class PurposeNotDeclared(Forbidden):
    type_slug = "purpose-not-declared"
    title = "Purpose not declared by the app"


def registered_app(apps: AppDirectory, client_id: str) -> RegisteredApp:
    app = apps.get(client_id)
    if app is None:
        raise AppUnknown(
            f"App `{client_id}` is not registered (or was deleted) at the auth service."
        )
    return app


def acting_app(principal: Principal) -> str | None:
    """The app whose registration limits the principal: an app itself, or the third-party
    app a customer's token was issued through; None for admins and first-party customers."""
    if principal.kind is Kind.APP:
        return principal.id
    return principal.delegate


def check_app(apps: AppDirectory, principal: Principal) -> None:
    """An app's token, and a customer's token issued through an app, is honoured only while
    the auth service knows the app."""
    if (client_id := acting_app(principal)) is not None:
        registered_app(apps, client_id)


def declared_purposes(apps: AppDirectory, principal: Principal) -> frozenset[str] | None:
    """The purposes the principal may act on: an app's declared ones, also when it acts for a
    customer; None for admins and first-party customers (not limited)."""
    if (client_id := acting_app(principal)) is None:
        return None
    return frozenset(registered_app(apps, client_id).purposes)


def require_declared(
    apps: AppDirectory, principal: Principal, purposes: Iterable[str], *, batch: bool = False
) -> None:
    """Every purpose must be among the acting app's declared ones (admins and first-party
    customers: any)."""
    declared = declared_purposes(apps, principal)
    client_id = acting_app(principal)
    if declared is not None and client_id is not None:
        check_declared(client_id, declared, purposes, batch=batch)


def check_declared(
    client_id: str, declared: frozenset[str], purposes: Iterable[str], *, batch: bool = False
) -> None:
    """The first purpose not declared is named, with its index (`item`, as the consent API's
    other batch problems) in a batch."""
    for index, purpose in enumerate(purposes):
        if purpose not in declared:
            where = f" (item {index})" if batch else ""
            extensions: dict[str, object] = {"purpose": purpose}
            if batch:
                extensions["item"] = index
            raise PurposeNotDeclared(
                f"App `{client_id}` did not declare purpose `{purpose}`{where}.", **extensions
            )
