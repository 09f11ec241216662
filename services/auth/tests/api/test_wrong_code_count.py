"""A wrong emailed code is counted, and the count survives the refusal: the use case raises
`CommitThenRefuse`, the request's transaction commits the count and then answers the error
(ciam_auth.transactions). A page that renders the refusal itself commits it with its answer."""

from __future__ import annotations

import re

from sqlalchemy import select

from ciam_auth.models import EmailToken

from ..conftest import Auth, code_in


async def _attempts(auth: Auth, email: str) -> list[int]:
    async with auth.engine.connect() as connection:
        rows = await connection.execute(
            select(EmailToken.attempts).where(
                EmailToken.email == email, EmailToken.used_at.is_(None)
            )
        )
        return [row.attempts for row in rows]


async def test_a_wrong_code_is_counted_though_the_request_is_refused(auth: Auth) -> None:
    mail = await auth.register("barbara@example.com")
    code = code_in(mail)
    wrong = "000000" if code != "000000" else "111111"
    assert await _attempts(auth, "barbara@example.com") == [0]

    refused = await auth.client.post(
        "/v1/email-verifications", json={"email": "barbara@example.com", "code": wrong}
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert await _attempts(auth, "barbara@example.com") == [1]

    # The page renders the same refusal as its own page; the count commits with it.
    page = await auth.client.get("/verify-email")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    form = {"email": "barbara@example.com", "code": wrong, "csrf": csrf.group(1)}
    refused_page = await auth.client.post("/verify-email", data=form)
    assert refused_page.status_code == 400
    assert refused_page.headers["content-type"].startswith("text/html")
    assert await _attempts(auth, "barbara@example.com") == [2]

    # Below the limit the right code still works.
    good = await auth.client.post(
        "/v1/email-verifications", json={"email": "barbara@example.com", "code": code}
    )
    assert good.status_code == 200, good.text
    assert await _attempts(auth, "barbara@example.com") == []
