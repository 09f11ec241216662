"""The checks that hold a brand app, and a third-party app acting for a customer, to its
registration at auth (ciam_shared.tokens.apps), and who a token's principal is."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ciam_shared.tokens import AccessToken, Kind, NotAuthenticated, Principal, principal_of
from ciam_shared.tokens.apps import (
    AppUnknown,
    PurposeNotDeclared,
    RegisteredApp,
    acting_app,
    check_app,
    declared_purposes,
    require_declared,
)
from ciam_shared.tokens.scopes import CONSENT_ADMIN, FIRST_PARTY_CLIENT, MY_CONSENTS_READ


@dataclass(frozen=True)
class App:
    name: str
    purposes: list[str] = field(default_factory=list)
    brand: str | None = "news"


class Directory:
    """A fake of the SDK's BrandAppView: the registrations it would have read."""

    def __init__(self, apps: dict[str, App]) -> None:
        self.apps = apps

    def get(self, client_id: str) -> RegisteredApp | None:
        return self.apps.get(client_id)


NEWS = Principal(Kind.APP, "news-app", frozenset())
GHOST = Principal(Kind.APP, "ghost", frozenset())
ACCOUNT = "4d1e0c1a-3f1e-4c55-9c34-1df0c1f0f0aa"
CUSTOMER = Principal(Kind.CUSTOMER, ACCOUNT, frozenset(), client_id=FIRST_PARTY_CLIENT)
THROUGH_NEWS = Principal(Kind.CUSTOMER, ACCOUNT, frozenset(), client_id="news-app")
THROUGH_GHOST = Principal(Kind.CUSTOMER, ACCOUNT, frozenset(), client_id="ghost")
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


def test_a_customer_token_through_a_third_party_app_is_held_to_that_apps_registration() -> None:
    assert acting_app(THROUGH_NEWS) == "news-app"
    assert declared_purposes(APPS, THROUGH_NEWS) == {"email-marketing", "analytics"}
    require_declared(APPS, THROUGH_NEWS, ["analytics"])
    with pytest.raises(PurposeNotDeclared) as refused:
        require_declared(APPS, THROUGH_NEWS, ["sms-marketing"])
    assert "news-app" in refused.value.detail
    with pytest.raises(AppUnknown):  # the app was deleted: its customers' tokens stop too
        check_app(APPS, THROUGH_GHOST)
    # Auth's own pages are in no directory and limited to no purpose.
    assert CUSTOMER.first_party and not THROUGH_NEWS.first_party
    assert acting_app(CUSTOMER) is None and acting_app(ADMIN) is None


def _token(sub: str, client_id: str, *scopes: str) -> AccessToken:
    return AccessToken(sub, client_id, frozenset(scopes), None, 2_000_000_000, "jti")


def test_only_a_client_credentials_token_with_the_admin_scope_is_an_admin() -> None:
    ops = principal_of(_token("ops", "ops", CONSENT_ADMIN), admin_scope=CONSENT_ADMIN)
    assert ops.kind is Kind.ADMIN
    customer = principal_of(
        _token(ACCOUNT, "rogue-app", CONSENT_ADMIN, MY_CONSENTS_READ), admin_scope=CONSENT_ADMIN
    )
    assert (customer.kind, customer.id, customer.first_party) == (Kind.CUSTOMER, ACCOUNT, False)
    mine = principal_of(_token(ACCOUNT, FIRST_PARTY_CLIENT), admin_scope=CONSENT_ADMIN)
    assert mine.kind is Kind.CUSTOMER and mine.first_party and mine.delegate is None
    with pytest.raises(NotAuthenticated):  # an admin scope does not make any `sub` acceptable
        principal_of(_token("ops", "rogue-app", CONSENT_ADMIN), admin_scope=CONSENT_ADMIN)
