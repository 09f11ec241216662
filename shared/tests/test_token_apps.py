"""The checks that hold a brand app to its registration at auth (ciam_shared.tokens.apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ciam_shared.tokens import Kind, Principal
from ciam_shared.tokens.apps import (
    AppUnknown,
    PurposeNotDeclared,
    RegisteredApp,
    check_app,
    declared_purposes,
    require_declared,
)


@dataclass(frozen=True)
class App:
    name: str
    purposes: list[str] = field(default_factory=list)


class Directory:
    """A fake of the SDK's BrandAppView: the registrations it would have read."""

    def __init__(self, apps: dict[str, App]) -> None:
        self.apps = apps

    def get(self, client_id: str) -> RegisteredApp | None:
        return self.apps.get(client_id)


NEWS = Principal(Kind.APP, "news-app", frozenset())
GHOST = Principal(Kind.APP, "ghost", frozenset())
CUSTOMER = Principal(Kind.CUSTOMER, "4d1e0c1a-3f1e-4c55-9c34-1df0c1f0f0aa", frozenset())
ADMIN = Principal(Kind.ADMIN, "ops", frozenset({"consent:admin"}))
APPS = Directory({"news-app": App("Daily News", ["email-marketing", "analytics"])})


def test_an_unknown_app_is_refused_and_customers_and_admins_are_not_apps() -> None:
    with pytest.raises(AppUnknown) as refused:
        check_app(APPS, GHOST)
    assert refused.value.status == 403
    assert refused.value.type_slug == "app-unknown"
    for principal in (NEWS, CUSTOMER, ADMIN):
        check_app(APPS, principal)
    assert declared_purposes(APPS, CUSTOMER) is None
    assert declared_purposes(APPS, ADMIN) is None
    assert declared_purposes(APPS, NEWS) == {"email-marketing", "analytics"}


def test_the_first_undeclared_purpose_is_named_with_its_item_in_a_batch() -> None:
    require_declared(APPS, NEWS, ["analytics", "email-marketing"], batch=True)
    require_declared(APPS, CUSTOMER, ["sms-marketing"])
    with pytest.raises(PurposeNotDeclared) as refused:
        require_declared(APPS, NEWS, ["analytics", "sms-marketing", "partner-sharing"], batch=True)
    assert refused.value.extensions == {"purpose": "sms-marketing", "item": 1}
    with pytest.raises(PurposeNotDeclared) as single:
        require_declared(APPS, NEWS, ["sms-marketing"])
    assert single.value.extensions == {"purpose": "sms-marketing"}
    with pytest.raises(AppUnknown):
        require_declared(APPS, GHOST, [])
