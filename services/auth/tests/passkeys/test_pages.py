"""The passkey pages: the enrolment offer (once, never to an account with a passkey), the
account page's list with its rename and remove forms, the CSP that lets the script run."""

from __future__ import annotations

import re

from sqlalchemy import update

from ciam_auth.models import Account

from ..conftest import PASSWORD, Auth
from .conftest import authenticator, enrol, sign_in


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def test_the_offer_is_made_once_and_never_to_an_account_with_a_passkey(auth: Auth) -> None:
    signed_out = await auth.client.get("/passkeys/offer", params={"return_to": "/shop"})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/shop"
    await auth.verified_account("offer@example.com")
    await sign_in(auth.client, "offer@example.com", PASSWORD)
    offered = await auth.client.get("/passkeys/offer", params={"return_to": "/shop"})
    assert offered.status_code == 200 and "data-passkey-add" in offered.text
    assert 'data-next="/shop"' in offered.text
    csp = offered.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["connect-src"] == "'self'"
    again = await auth.client.get("/passkeys/offer", params={"return_to": "/shop"})
    assert again.status_code == 303 and again.headers["location"] == "/shop"

    auth.client.cookies.delete("ciam_passkey_offered")
    assert (await enrol(auth.client, authenticator())).status_code == 201
    has_one = await auth.client.get("/passkeys/offer", params={"return_to": "//evil.example"})
    assert has_one.status_code == 303 and has_one.headers["location"] == "/account"


async def test_the_account_page_lists_renames_and_removes_passkeys(auth: Auth) -> None:
    await auth.verified_account("page@example.com")
    await sign_in(auth.client, "page@example.com", PASSWORD)
    added = (await enrol(auth.client, authenticator(backup_eligible=True))).json()
    page = await auth.client.get("/account", params={"ui_locales": "pl"})
    assert "Klucze dostępu" in page.text and "synchronizowany między urządzeniami" in page.text
    assert 'autocomplete="username webauthn"' in (await auth.client.get("/login?prompt=login")).text
    renamed = await auth.client.post(
        f"/account/passkeys/{added['id']}/rename",
        data={"name": "Telefon", "csrf": csrf_in(page.text)},
    )
    assert (
        renamed.status_code == 303
        and renamed.headers["location"] == "/account?done=passkey-renamed"
    )
    assert 'value="Telefon"' in (await auth.client.get("/account")).text

    async with auth.engine.begin() as connection:
        await connection.execute(update(Account).values(password_hash=None))
    page = await auth.client.get("/account", params={"ui_locales": "pl"})
    last = await auth.client.post(
        f"/account/passkeys/{added['id']}/remove", data={"csrf": csrf_in(page.text)}
    )
    assert last.status_code == 409 and "the last way to sign in" in last.text
    forged = await auth.client.post(f"/account/passkeys/{added['id']}/remove", data={"csrf": "x"})
    assert forged.status_code == 403
    assert len((await auth.client.get("/v1/me/passkeys")).json()) == 1
