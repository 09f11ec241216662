"""Delete my account as a tracked request: the account page's deletion ends on a status page
(reached by an unguessable link, without a session), one step per service confirmed over
Kafka, a mail when it is requested and when it is done; the operator lists open requests
with their deadline through the admin API (problems for a missing or wrong token)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from ciam_auth.oidc.service import clients
from ciam_devtools.testing.plugin import eventually
from ciam_shared.db import unit_of_work

from ..conftest import PASSWORD, Auth, body_of
from .support import OTHERS, confirm, signed_in


async def operator_token(auth: Auth) -> str:
    spec = clients.ClientSpec(
        name="ops", brand=None, redirect_uris=[], post_logout_redirect_uris=[],
        scopes=["auth:admin"], purposes=[], grant_types=["client_credentials"],
        auth_method="client_secret_basic", first_party=True,
    )  # fmt: skip
    async with unit_of_work(auth.ctx.db) as session:
        client, secret = await clients.register(session, spec, topic_prefix=auth.prefix)
    assert secret is not None
    response = await auth.client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def steps_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-service="(\w+)" data-state="(\w+)"', html))


async def test_a_deletion_is_tracked_until_every_service_confirmed_it(auth: Auth) -> None:
    address = "leaving@example.com"
    subject, csrf = await signed_in(auth, address)
    operator = {"authorization": f"Bearer {await operator_token(auth)}"}
    deleted = await auth.client.post(
        "/account/delete",
        data={"password": PASSWORD, "csrf": csrf},
        headers={"accept-language": "pl"},
    )
    assert deleted.status_code == 303, deleted.text
    # The page in the language the form was sent in; the mail's link in the account's.
    status_path, _, query = deleted.headers["location"].partition("?")
    assert status_path.startswith("/privacy/deletion/") and len(status_path) > 50
    assert query == "ui_locales=pl"
    assert 'ciam_session=""' in deleted.headers["set-cookie"]
    assert (await auth.client.get("/v1/me")).status_code == 401

    # The status page, without any session: auth's own step is done at once.
    async with auth.other_client("192.0.2.20") as stranger:
        page = await stranger.get(status_path, headers={"accept-language": "pl"})
    assert page.status_code == 200 and "Konto zostało usunięte" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert steps_of(page.text) == {"auth": "confirmed", "consent": "pending",
                                   "profile": "pending", "notifier": "pending"}  # fmt: skip
    first = await auth.mailbox.wait_for(address, count=2)
    assert first["Subject"] == "Your account has been deleted"
    assert f"http://auth.test{status_path}?ui_locales=en" in body_of(first)

    listed = await auth.client.get("/v1/admin/erasures", headers=operator)
    assert listed.status_code == 200, listed.text
    [request] = [r for r in listed.json() if r["subject_id"] == str(subject)]
    assert request["pending"] == list(OTHERS) and request["overdue"] is False
    requested = datetime.fromisoformat(request["requested_at"])
    assert datetime.fromisoformat(request["deadline_at"]) - requested == timedelta(days=30)

    await confirm(auth, subject, "consent", times=2)  # redelivered: counted once
    await confirm(auth, subject, "profile")

    async def two_left() -> bool:
        page = await auth.client.get(status_path)
        return steps_of(page.text).get("profile") == "confirmed"

    await eventually(two_left)
    assert "completed by" in (await auth.client.get(status_path)).text
    await confirm(auth, subject, "notifier")

    async def done() -> bool:
        page = await auth.client.get(status_path)
        return set(steps_of(page.text).values()) == {"confirmed"}

    await eventually(done)
    assert "Erasure completed" in (await auth.client.get(status_path)).text
    last = await auth.mailbox.wait_for(address, count=3)
    assert last["Subject"] == "Your data has been erased"
    remaining = (await auth.client.get("/v1/admin/erasures", headers=operator)).json()
    assert str(subject) not in {r["subject_id"] for r in remaining}


async def test_a_wrong_status_link_and_a_confirmation_of_nobody_change_nothing(
    auth: Auth,
) -> None:
    unknown = await auth.client.get(f"/privacy/deletion/{'x' * 43}")
    assert unknown.status_code == 404 and "This link is not valid." in unknown.text
    await confirm(auth, uuid.uuid4(), "consent")  # no tracked request: ignored, not a failure
    operator = {"authorization": f"Bearer {await operator_token(auth)}"}
    assert (await auth.client.get("/v1/admin/erasures", headers=operator)).json() == []


async def test_the_operator_list_needs_an_operator_token(auth: Auth) -> None:
    anonymous = await auth.client.get("/v1/admin/erasures")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    operator = {"authorization": f"Bearer {await operator_token(auth)}"}
    bad = await auth.client.get("/v1/admin/erasures?limit=0", headers=operator)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    schema = (await auth.client.get("/openapi.json")).json()
    operation = schema["paths"]["/v1/admin/erasures"]["get"]
    assert {"401", "403", "422"} <= set(operation["responses"])
    assert "application/problem+json" in operation["responses"]["401"]["content"]
