"""Profile and consent end to end, each a separate process over the real broker: the consent
service announces its purpose catalogue, the profile service learns data kinds from it; a
grant at the consent service shows an app the fields, a withdrawal hides them and stops
tracking; the account's deletion erases the profile and tombstones the consent state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import ECKey

from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import ServiceProcess, eventually, publish_event
from ciam_shared.events import BrandAppRegistered, CloudEvent, UserDeleted, UserRegistered

pytestmark = pytest.mark.e2e


class System:
    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer
        self.consent: ServiceProcess | None = None
        self.profile: ServiceProcess | None = None
        self.http = httpx.AsyncClient(timeout=10)

    def token(
        self, sub: str, *scopes: str, app: bool = False, brand: str | None = None
    ) -> dict[str, str]:
        """An app's own token (`app=True`), or the customer's on auth's own pages (every
        customer scope)."""
        if app:
            token = self.issuer.app_token(sub, scopes=scopes, brand=brand)
        else:
            token = self.issuer.customer_token(sub)
        return {"authorization": f"Bearer {token}"}

    def through(self, client_id: str, sub: str, *scopes: str) -> dict[str, str]:
        """The customer's token held by a third-party app."""
        token = self.issuer.customer_token(sub, client_id=client_id, scopes=scopes)
        return {"authorization": f"Bearer {token}"}

    def at(self, service: ServiceProcess | None, path: str) -> str:
        assert service is not None
        return service.url + path


@pytest.fixture
async def system(
    fresh_database,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    tmp_path: Path,
    token_issuer: TokenIssuer,
) -> AsyncIterator[System]:
    shared = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "REDIS_URL": redis_url,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "CIAM_ENVIRONMENT": "test",
        "TOKEN_ISSUER": token_issuer.url,
    }
    consent_env = shared | {
        "CONSENT_DATABASE_URL": await fresh_database("ciam_consent.migrations"),
        "CONSENT_MIGRATE_ON_START": "false",
        "CONSENT_RECEIPT_SIGNING_KEY": ECKey.generate_key("P-256").as_pem(private=True).decode(),
    }
    profile_env = shared | {
        "PROFILE_DATABASE_URL": await fresh_database("ciam_profile.migrations"),
        "PROFILE_MIGRATE_ON_START": "false",
    }
    system = System(token_issuer)
    try:
        # Consent first: it announces the catalogue the profile service reads at start.
        system.consent = ServiceProcess("consent", consent_env, tmp_path).start()
        system.profile = ServiceProcess("profile", profile_env, tmp_path).start()
        yield system
    finally:
        await system.http.aclose()
        for process in (system.profile, system.consent):
            if process is not None:
                process.stop()


async def test_a_withdrawal_at_the_consent_service_hides_fields_and_stops_tracking(
    system: System, kafka_bootstrap: str, topic_prefix: str
) -> None:
    s, http = system, system.http
    subject = uuid.uuid4()
    registered = UserRegistered(subject_id=subject, registered_at=datetime.now(UTC))
    await publish_event(
        kafka_bootstrap, CloudEvent.wrap(registered, source="/tests"), prefix=topic_prefix
    )
    admin = s.token("ops", "profile:admin", app=True)
    me = s.token(str(subject))

    async def profile_exists() -> bool:
        return (
            await http.get(s.at(s.profile, f"/v1/profiles/{subject}"), headers=me)
        ).status_code == 200

    await eventually(profile_exists, timeout=30)
    # The brand app and its declared purposes, as the auth service's relay publishes them.
    now = datetime.now(UTC)
    app = BrandAppRegistered(
        client_id="shop-web", name="Shop", brand="acme", purposes=["personalisation", "analytics"],
        scopes=["profile:read", "profile:track"], first_party=True, registered_at=now,
        updated_at=now,
    )  # fmt: skip
    await publish_event(
        kafka_bootstrap, CloudEvent.wrap(app, source="/ciam/auth"), prefix=topic_prefix
    )
    await http.patch(
        s.at(s.profile, f"/v1/profiles/{subject}"),
        json={"fields": {"name": "Ada", "job": {"title": "analyst"}}},
        headers=me,
    )
    shop = s.token("shop-web", "profile:read", "profile:track", app=True, brand="acme")
    page_view = {
        "type": "page_view",
        "channel": "web",
        "subject_id": str(subject),
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    for purpose in ("personalisation", "analytics"):
        granted = await http.post(
            s.at(s.consent, f"/v1/subjects/{subject}/consents/{purpose}/grant"), json={}, headers=me
        )
        assert granted.status_code == 200, granted.text

    async def shows_job() -> bool:
        r = await http.get(s.at(s.profile, f"/v1/profiles/{subject}"), headers=shop)
        return "job" in r.json()["fields"]

    await eventually(shows_job)

    async def tracked() -> bool:
        # The two grants are two state versions: analytics may land just after personalisation.
        r = await http.post(
            s.at(s.profile, "/v1/events"), json={"events": [page_view]}, headers=shop
        )
        return bool(r.json()["stored"] == 1)

    await eventually(tracked)
    assert (
        "name"
        not in (await http.get(s.at(s.profile, f"/v1/profiles/{subject}"), headers=shop)).json()[
            "fields"
        ]
    )

    for purpose in ("analytics", "personalisation"):
        withdrawn = await http.post(
            s.at(s.consent, f"/v1/subjects/{subject}/consents/{purpose}/withdraw"),
            json={},
            headers=me,
        )
        assert withdrawn.status_code == 200

    async def hidden() -> bool:
        r = await http.get(s.at(s.profile, f"/v1/profiles/{subject}"), headers=shop)
        return r.json()["fields"] == {}

    await eventually(hidden)
    refused = await http.post(
        s.at(s.profile, "/v1/events"), json={"events": [page_view]}, headers=shop
    )
    assert refused.json()["results"][0]["reason"] == "no_consent"

    # The consent service shows the profile service applied the withdrawal (propagation).
    async def acknowledged() -> bool:
        r = await http.get(s.at(s.consent, f"/v1/subjects/{subject}/propagation"), headers=me)
        return "profile" in r.json()["changes"][-1]["applied"]

    await eventually(acknowledged)

    deleted = UserDeleted(subject_id=subject, deleted_at=datetime.now(UTC))
    await publish_event(
        kafka_bootstrap, CloudEvent.wrap(deleted, source="/tests"), prefix=topic_prefix
    )

    async def erased() -> bool:
        r = await http.get(s.at(s.profile, f"/v1/profiles/{subject}"), headers=admin)
        return r.status_code == 404

    await eventually(erased)
    export = await http.get(s.at(s.profile, f"/v1/profiles/{subject}/export"), headers=me)
    assert export.status_code == 404


async def test_a_third_party_apps_customer_token_is_held_to_its_scopes_purposes_and_brand(
    system: System, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Across both services as processes: a customer signed in to a third-party quiz app
    that asked for `openid` only gets nothing at consent or profile; with the consent scopes
    the app still changes only its declared purpose within its brand."""
    s, http = system, system.http
    subject = uuid.uuid4()
    registered = UserRegistered(subject_id=subject, registered_at=datetime.now(UTC))
    now = datetime.now(UTC)
    quiz_app = BrandAppRegistered(
        client_id="quiz", name="Quiz", brand="acme", purposes=["email-marketing"],
        scopes=["openid", "me:consents:read", "me:consents:write"], first_party=False,
        registered_at=now, updated_at=now,
    )  # fmt: skip
    for event in (
        CloudEvent.wrap(registered, source="/tests"),
        CloudEvent.wrap(quiz_app, source="/ciam/auth"),
    ):
        await publish_event(kafka_bootstrap, event, prefix=topic_prefix)
    openid_only = s.through("quiz", str(subject), "openid")
    consents = s.at(s.consent, f"/v1/subjects/{subject}/consents")
    profile = s.at(s.profile, f"/v1/profiles/{subject}")

    async def both_know_quiz() -> bool:
        # Until its view has read the registration, a service refuses the app as unknown.
        answers = [
            await http.get(consents, headers=openid_only),
            await http.get(profile, headers=openid_only),
        ]
        return all(r.json()["type"].endswith("/insufficient-scope") for r in answers)

    await eventually(both_know_quiz, timeout=30)
    for method, url in (
        ("GET", consents),
        ("POST", f"{consents}/email-marketing/grant"),
        ("GET", profile),
        ("GET", f"{profile}/export"),
        ("PATCH", profile),
    ):
        body = {"fields": {"name": "Quiz"}} if method == "PATCH" else {}
        refused = await http.request(method, url, json=body, headers=openid_only)
        assert refused.status_code == 403, (method, url, refused.text)
        assert refused.json()["type"].endswith("/insufficient-scope")

    quiz = s.through("quiz", str(subject), "me:consents:read", "me:consents:write")
    undeclared = await http.post(f"{consents}/analytics/grant", json={}, headers=quiz)
    assert undeclared.json()["type"].endswith("/purpose-not-declared")
    every_brand = await http.post(
        f"{consents}/email-marketing/grant", json={"brand": None}, headers=quiz
    )
    assert every_brand.json()["type"].endswith("/brand-not-allowed")
    granted = await http.post(f"{consents}/email-marketing/grant", json={}, headers=quiz)
    assert granted.status_code == 200, granted.text
    assert granted.json()["changes"][0]["brand"] == "acme"
