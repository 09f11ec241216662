"""The propagation proof of a change on request (which apps confirmed it), the same as
server-sent events for the page's script, the script itself (served by auth, allowed by the
page's CSP, no inline code), and per-channel controls where the catalogue narrows a purpose."""

from __future__ import annotations

import asyncio
import html
import json
import re
import uuid
from datetime import UTC, datetime

from ciam_devtools.testing.plugin import eventually, publish_event
from ciam_shared.events import CloudEvent, ConsentApplied

from .conftest import OURS, Privacy, csrf_of, state_of


async def applied(privacy: Privacy, subscriber: str, account: uuid.UUID, version: int) -> None:
    """A subscriber's proof that it applied the subject's state up to `version`."""
    event = CloudEvent.wrap(
        ConsentApplied(
            subscriber=subscriber,
            subject_id=account,
            version=version,
            event_id=uuid.uuid4(),
            applied_at=datetime.now(UTC),
        ),
        source="/tests",
    )
    await publish_event(privacy.kafka, event, prefix=privacy.topic_prefix)


async def change(privacy: Privacy, **form: str) -> str:
    page = await privacy.http.get("/privacy")
    answer = await privacy.http.post(
        "/privacy/consents", data=form | {"csrf": csrf_of(page.text)}, headers={"origin": OURS}
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


async def test_the_page_shows_on_request_which_apps_confirmed_a_change_and_live(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in()
    assert (await change(privacy, purpose="analytics", action="grant")).startswith(
        "/privacy?done=grant&version=1"
    )
    await applied(privacy, "profile", account, 1)

    async def confirmed_by_profile() -> str | None:
        page = await privacy.http.get("/privacy/propagation?version=1")
        return page.text if 'data-applied="profile"' in page.text else None

    shown = html.unescape(await eventually(confirmed_by_profile))
    assert "Every app has confirmed the change: profile." in shown

    location = await change(privacy, purpose="analytics", action="withdraw")
    assert location.startswith("/privacy?done=withdraw&version=2")
    page = html.unescape((await privacy.http.get(location.split("#")[0])).text)
    assert 'data-live="/privacy/propagation/live?version=2"' in page
    assert 'href="/privacy/propagation?version=2"' in page
    # The profile service is known and has not applied version 2 yet.
    waiting = html.unescape(
        (
            await privacy.http.get(
                "/privacy/propagation?version=2", headers={"accept-language": "pl"}
            )
        ).text
    )
    assert 'data-pending="profile"' in waiting and "Zapisano. Czekamy na: profile." in waiting

    # The live stream says so, and ends once the profile service confirms.
    stream = asyncio.create_task(privacy.http.get("/privacy/propagation/live?version=2"))
    await applied(privacy, "profile", account, 2)
    answer = await asyncio.wait_for(stream, timeout=30)
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = [
        json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: ")
    ]
    assert events[-1] == {"text": "Every app has confirmed the change: profile.", "done": True}
    assert all(not e["done"] for e in events[:-1])


async def test_the_script_is_served_by_auth_and_allowed_by_the_pages_csp(privacy: Privacy) -> None:
    await privacy.sign_in()
    page = await privacy.http.get("/privacy")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline'" not in csp.split("style-src")[0]
    # No inline script: only served files (every page's auth.js, and the page's own).
    assert re.findall(r"<script[^>]*>", page.text) == [
        '<script src="/assets/auth.js" defer>',
        '<script src="/privacy/privacy.js" defer>',
    ]
    assert "data-enhance" in page.text
    script = await privacy.http.get("/privacy/privacy.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in script.text and "data-live" in script.text


async def test_a_purpose_of_several_channels_is_changed_one_channel_at_a_time(
    privacy: Privacy,
) -> None:
    account = await privacy.sign_in()
    page = html.unescape((await privacy.http.get("/privacy")).text)
    controls = re.findall(
        r'data-control="personalisation/([a-z]*)/([a-z]*)" data-state="(\w+)"', page
    )
    assert controls == [("", "app", "never"), ("", "email", "never"), ("", "web", "never")]
    await change(privacy, purpose="personalisation", action="grant")
    await change(privacy, purpose="personalisation", action="withdraw", channel="app")
    assert await privacy.all_at_consent_service(account) == {
        ("personalisation", None): "granted",
        ("personalisation", "app"): "withdrawn",
    }
    page = html.unescape(
        (await privacy.http.get("/privacy", headers={"accept-language": "pl"})).text
    )
    controls = re.findall(
        r'data-control="personalisation/([a-z]*)/([a-z]*)" data-state="(\w+)"', page
    )
    assert controls == [("", "app", "withdrawn"), ("", "email", "granted"), ("", "web", "granted")]
    assert "Według kanału i marki" in page
    assert state_of(page, "personalisation") == "granted"
    # A malformed channel is refused and changes nothing.
    form = await privacy.http.get("/privacy")
    bad = await privacy.http.post(
        "/privacy/consents",
        data={
            "purpose": "personalisation",
            "action": "grant",
            "channel": "A B",
            "csrf": csrf_of(form.text),
        },
        headers={"origin": OURS},
    )
    assert bad.status_code == 400
    assert (await privacy.all_at_consent_service(account))[
        ("personalisation", "app")
    ] == "withdrawn"
