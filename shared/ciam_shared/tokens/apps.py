"""What a brand app may do beyond its token: the token says who it is, the auth service's
registration (followed from the compacted apps topic, e.g. by the SDK's `BrandAppView`) says
whether it still exists and which purposes it declared.

A token stays valid until it expires, so a deleted app's token is refused here, by the
registration, not by the signature. Customers and admins are not brand apps: unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ciam_shared.tokens.principal import Forbidden, Kind, Principal


class RegisteredApp(Protocol):
    @property
    def name(self) -> str: ...

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


def check_app(apps: AppDirectory, principal: Principal) -> None:
    """An app token is honoured only while the auth service knows the app."""
    if principal.kind is Kind.APP:
        registered_app(apps, principal.id)


def declared_purposes(apps: AppDirectory, principal: Principal) -> frozenset[str] | None:
    """The purposes an app may act on; None for customers and admins (not limited)."""
    if principal.kind is not Kind.APP:
        return None
    return frozenset(registered_app(apps, principal.id).purposes)


def require_declared(
    apps: AppDirectory, principal: Principal, purposes: Iterable[str], *, batch: bool = False
) -> None:
    """Every purpose must be among the app's declared ones (customers and admins: any)."""
    declared = declared_purposes(apps, principal)
    if declared is not None:
        check_declared(principal.id, declared, purposes, batch=batch)


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
