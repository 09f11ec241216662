"""The "check your inbox" page after registration: a box for the mailed code and "send the
email again", which mails a new link and code (the old ones stop working), at most five times
an hour per address, and answers the same for every address."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from ciam_auth.models import OutgoingMail
from ciam_devtools.testing.plugin import eventually

from ..conftest import PASSWORD, Auth, code_in

ADDRESS = "resend@example.com"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def _register_on_the_page(auth: Auth) -> str:
    form = await auth.client.get("/register?ui_locales=en")
    page = await auth.client.post(
        "/register", data={"email": ADDRESS, "password": PASSWORD, "csrf": csrf_of(form.text)}
    )
    assert page.status_code == 200, page.text
    return page.text


async def _all_mail_sent(auth: Auth) -> bool:
    async with auth.engine.connect() as connection:
        waiting = await connection.scalar(select(func.count()).select_from(OutgoingMail))
    return await auth.ctx.jobs.idle() and waiting == 0


async def test_the_inbox_page_takes_the_code_and_send_again_replaces_it(auth: Auth) -> None:
    page = await _register_on_the_page(auth)
    assert 'action="/verify-email"' in page and 'id="code"' in page
    assert 'action="/verify-email/resend"' in page
    assert f'name="email" value="{ADDRESS}"' in page
    first = code_in(await auth.mailbox.wait_for(ADDRESS))

    again = await auth.client.post(
        "/verify-email/resend", data={"email": ADDRESS, "csrf": csrf_of(page)}
    )
    assert again.status_code == 200 and "we have sent it a new link and code" in again.text
    second = code_in(await auth.mailbox.wait_for(ADDRESS, count=2))

    csrf = csrf_of(again.text)
    old = await auth.client.post(
        "/verify-email", data={"email": ADDRESS, "code": first, "csrf": csrf}
    )
    assert old.status_code == 400  # retired by the new mail
    confirmed = await auth.client.post(
        "/verify-email", data={"email": ADDRESS, "code": second, "csrf": csrf}
    )
    assert confirmed.status_code == 200 and "is confirmed" in confirmed.text
    used = await auth.client.post(
        "/verify-email", data={"email": ADDRESS, "code": second, "csrf": csrf}
    )
    assert used.status_code == 400  # single use


async def test_send_again_mails_at_most_five_times_an_hour_and_never_a_stranger(
    auth: Auth,
) -> None:
    page = await _register_on_the_page(auth)
    await auth.mailbox.wait_for(ADDRESS)
    csrf = csrf_of(page)
    for _ in range(7):
        answer = await auth.client.post(
            "/verify-email/resend", data={"email": ADDRESS, "csrf": csrf}
        )
        assert answer.status_code == 200
    stranger = await auth.client.post(
        "/verify-email/resend", data={"email": "nobody@example.com", "csrf": csrf}
    )
    assert stranger.status_code == 200 and stranger.text.count("we have sent it") == 1

    await eventually(lambda: _all_mail_sent(auth))
    assert len(auth.mailbox.to(ADDRESS)) == 1 + 5
    assert auth.mailbox.to("nobody@example.com") == []


async def test_send_again_needs_the_form_token(auth: Auth) -> None:
    await _register_on_the_page(auth)
    forged = await auth.client.post("/verify-email/resend", data={"email": ADDRESS})
    assert forged.status_code == 403
