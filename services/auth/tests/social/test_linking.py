"""Sign-up, returning sign-in, linking and unlinking through the pages, against a provider
under the test's control (valid tokens only; the faults are in test_faults.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from .conftest import SocialAuth

LINKED = "dev.ciam.identity.identity.linked.v1"
UNLINKED = "dev.ciam.identity.identity.unlinked.v1"
REGISTERED = "dev.ciam.identity.user.registered.v1"
SIGNED_IN = "dev.ciam.identity.user.signed-in.v1"
VERIFIED = "dev.ciam.identity.email.verified.v1"


async def account_row(social: SocialAuth, account_id: uuid.UUID) -> tuple[str | None, str | None]:
    async with social.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT email, password_hash FROM accounts WHERE id = :id"), {"id": account_id}
            )
        ).one()
    return row[0], row[1]


async def test_a_new_customer_signs_up_in_one_click_without_a_password(social: SocialAuth) -> None:
    request = await social.start("evil", return_to="/welcome")
    token = social.evil.sign(social.evil.claims(request["nonce"], sub="new-1"))
    callback = await social.callback(request, token)
    assert callback.status_code == 303 and callback.headers["location"] == "/login/social/continue"
    page = await social.http.get("/login/social/continue", headers={"accept-language": "pl"})
    assert page.status_code == 200 and 'lang="pl"' in page.text and "Skopiuj z Evil" in page.text
    assert '<label for="field-name">' in page.text and "checked" not in page.text
    done = await social.answer()
    assert done.status_code == 303 and done.headers["location"] == "/welcome"
    account = await social.signed_in_account()
    assert account is not None
    assert await account_row(social, account) == ("someone@example.com", None)
    assert await social.outbox_types() == [REGISTERED, VERIFIED, LINKED, SIGNED_IN]


async def test_a_returning_customer_is_recognised_and_never_gets_a_second_account(
    social: SocialAuth,
) -> None:
    await social.sign_up("returning-1")
    first = await social.signed_in_account()
    social.http.cookies.clear()
    again = await social.sign_up("returning-1")
    assert again.status_code == 303 and again.headers["location"] == "/welcome"
    assert await social.signed_in_account() == first
    assert await social.count("accounts") == 1 and await social.count("linked_identities") == 1


async def test_a_verified_email_of_an_existing_account_links_only_after_signing_in_to_it(
    social: SocialAuth,
) -> None:
    owner = await social.password_account("owner@example.com")
    proving = await social.sign_up("owner-google", email="owner@example.com")
    assert proving.status_code == 200  # the page asks the customer to sign in first
    assert "/login?return_to=%2Flogin%2Fsocial%2Fcontinue" in proving.text
    assert await social.count("linked_identities") == 0
    await social.sign_in(owner)  # what the login page does, then it returns to the page
    linked = await social.answer(("name",))
    assert linked.status_code == 303 and linked.headers["location"] == "/welcome"
    assert await social.count("accounts") == 1 and await social.count("linked_identities") == 1
    social.http.cookies.clear()
    await social.sign_up("owner-google", email="owner@example.com")
    assert await social.signed_in_account() == owner  # one click from now on


async def test_signed_in_to_another_account_the_link_is_not_made(social: SocialAuth) -> None:
    await social.password_account("owner@example.com")
    intruder = await social.password_account("intruder@example.com")
    await social.sign_up("owner-google-2", email="owner@example.com")
    await social.sign_in(intruder)
    page = await social.http.get("/login/social/continue")
    assert "another account" in page.text and "<form" not in page.text
    assert await social.count("linked_identities") == 0


async def test_two_providers_returning_the_same_sub_are_two_identities(social: SocialAuth) -> None:
    await social.sign_up("same-sub")
    first = await social.signed_in_account()
    social.http.cookies.clear()
    await social.sign_up("same-sub", provider="other", email=None, email_verified=None)
    second = await social.signed_in_account()
    assert first is not None and second is not None and first != second
    async with social.engine.connect() as connection:
        rows = (await connection.execute(
            text("SELECT issuer, subject, account_id FROM linked_identities ORDER BY created_at")
        )).all()  # fmt: skip
    assert [(r[0], r[1]) for r in rows] == [
        (social.evil.issuer, "same-sub"),
        (social.other.issuer, "same-sub"),
    ]
    assert await account_row(social, second) == (None, None)  # no address was vouched for


async def test_link_another_then_unlink_but_never_the_last_way_to_sign_in(
    social: SocialAuth,
) -> None:
    await social.sign_up("linker")
    listing = (await social.http.get("/v1/me/identities")).json()
    assert [i["provider"] for i in listing["identities"]] == ["evil"]
    assert listing["has_password"] is False
    only = listing["identities"][0]["id"]
    csrf = {"x-csrf-token": listing["csrf_token"]}
    last = await social.http.delete(f"/v1/me/identities/{only}", headers=csrf)
    assert last.status_code == 409 and last.json()["type"].endswith("last-sign-in-method")
    no_csrf = await social.http.delete(f"/v1/me/identities/{only}")
    assert no_csrf.status_code == 403

    request = await social.start("other", intent="link", return_to="/account")
    token = social.other.sign(social.other.claims(request["nonce"], sub="linker-other"))
    await social.callback(request, token, provider="other", upstream=social.other)
    done = await social.answer()
    assert done.status_code == 303 and done.headers["location"] == "/account"
    listing = (await social.http.get("/v1/me/identities")).json()
    assert [i["provider"] for i in listing["identities"]] == ["evil", "other"]
    assert (await social.http.delete(f"/v1/me/identities/{only}", headers=csrf)).status_code == 204
    assert UNLINKED in await social.outbox_types()
    remaining = (await social.http.get("/v1/me/identities")).json()["identities"]
    assert [i["provider"] for i in remaining] == ["other"]
    again = await social.http.delete(f"/v1/me/identities/{remaining[0]['id']}", headers=csrf)
    assert again.status_code == 409


async def test_a_password_account_may_unlink_its_only_identity(social: SocialAuth) -> None:
    owner = await social.password_account("pw@example.com")
    await social.sign_in(owner)
    request = await social.start("evil", intent="link")
    token = social.evil.sign(social.evil.claims(request["nonce"], sub="pw-sub", email=None))
    await social.callback(request, token)
    await social.answer()
    listing = (await social.http.get("/v1/me/identities")).json()
    assert listing["has_password"] is True and len(listing["identities"]) == 1
    identity = listing["identities"][0]["id"]
    response = await social.http.delete(
        f"/v1/me/identities/{identity}", headers={"x-csrf-token": listing["csrf_token"]}
    )
    assert response.status_code == 204


async def test_an_identity_linked_to_one_account_cannot_be_linked_to_another(
    social: SocialAuth,
) -> None:
    await social.sign_up("taken-sub")
    social.http.cookies.clear()
    other = await social.password_account("second@example.com")
    await social.sign_in(other)
    request = await social.start("evil", intent="link")
    token = social.evil.sign(social.evil.claims(request["nonce"], sub="taken-sub"))
    response = await social.callback(request, token)
    assert response.status_code == 409 and 'data-error="linked_elsewhere"' in response.text
    assert await social.count("linked_identities") == 1


async def test_linking_needs_a_signed_in_customer(social: SocialAuth) -> None:
    response = await social.http.get("/login/social/evil", params={"intent": "link"})
    assert response.status_code == 303 and response.headers["location"].startswith(
        "/login?return_to=%2Flogin%2Fsocial%2Fevil%3Fintent%3Dlink"
    )
    assert (await social.http.get("/v1/me/identities")).status_code == 401


async def test_apple_name_from_the_posted_user_field_is_offered_for_import(
    social_with_consent: SocialAuth,
) -> None:
    """Apple's ID token has no name: it posts `user` once, beside the code."""
    social = social_with_consent
    request = await social.start("evilapple")
    claims = social.evil.claims(request["nonce"], sub="apple-1")
    claims.pop("name", None)
    token = social.evil.sign(claims)
    user = '{"name": {"firstName": "Ada", "lastName": "Lovelace"}, "email": "x@evil.example"}'
    form = {"code": social.evil.issue(token, request["code_challenge"]),
            "state": request["state"], "iss": social.evil.issuer, "user": user}  # fmt: skip
    response = await social.http.post("/login/social/evilapple/callback", data=form)
    assert response.status_code == 303, response.text
    page = await social.http.get("/login/social/continue")
    assert 'value="name"' in page.text  # the name is offered, though the token had none
    await social.answer(("name", "email"))
    account = await social.signed_in_account()
    async with social.engine.connect() as connection:
        imported = await connection.scalar(
            text("SELECT imported FROM linked_identities WHERE account_id = :id"), {"id": account}
        )
    assert imported["name"] == {"given_name": "Ada", "family_name": "Lovelace"}
    assert "x@evil.example" not in str(imported)  # the address only ever comes from the token
