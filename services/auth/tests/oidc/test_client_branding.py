"""A brand app's look and embedding, registered with the client through the admin API: a
display name, an https logo, two #rrggbb colours readable together and on auth's white cards
(WCAG AA 4.5:1), and the https origins that may frame the privacy pages. Anything else is an
RFC 9457 problem naming the rule, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from ciam_auth.models import OAuthClient
from ciam_auth.oidc import branding

from .conftest import AuthService

APP = {"name": "Shop", "redirect_uris": ["https://shop.example.com/cb"]}
LOOK = {
    "display_name": "Acme Shop",
    "logo_uri": "https://cdn.acme.example/logo.svg",
    "primary_color": "#0B5D1E",
    "text_color": "#ffffff",
}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def client_count(auth: AuthService) -> int:
    async with auth.engine.connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(OAuthClient))).scalar_one()
        )


async def test_the_look_and_embed_origins_are_registered_shown_and_replaced(
    auth: AuthService,
) -> None:
    headers = bearer(await auth.admin_token())
    created = await auth.http.post(
        "/v1/admin/clients",
        json=APP | {"branding": LOOK, "embed_origins": ["https://shop.example.com", "https://m.acme.example:8443"]},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    shown = (await auth.http.get(f"/v1/admin/clients/{client_id}", headers=headers)).json()
    assert shown["branding"] == LOOK
    assert shown["embed_origins"] == ["https://shop.example.com", "https://m.acme.example:8443"]
    # PUT replaces the registration: without branding, the app has auth's own look again.
    replaced = await auth.http.put(
        f"/v1/admin/clients/{client_id}",
        json=APP | {"embed_origins": ["https://shop.example.com"]},
        headers=headers,
    )
    assert replaced.status_code == 200, replaced.text
    assert "branding" not in replaced.json()
    assert replaced.json()["embed_origins"] == ["https://shop.example.com"]
    # A client registered without either has none (and an empty origin list).
    plain = await auth.http.post("/v1/admin/clients", json=APP, headers=headers)
    assert "branding" not in plain.json() and plain.json()["embed_origins"] == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"branding": LOOK | {"primary_color": "green"}}, "#rrggbb"),
        ({"branding": LOOK | {"text_color": "#fff"}}, "#rrggbb"),
        ({"branding": LOOK | {"primary_color": "#0b5d1e;}body{x:y"}}, "primary_color"),
        ({"branding": {"primary_color": "#0b5d1e"}}, "together"),
        # Yellow on white: unreadable text on the button.
        ({"branding": LOOK | {"primary_color": "#ffdd00", "text_color": "#ffffff"}}, "contrast"),
        # Readable together, but the links (brand colour on the white card) are not.
        ({"branding": LOOK | {"primary_color": "#ffdd00", "text_color": "#000000"}}, "white page"),
        ({"branding": LOOK | {"logo_uri": "http://cdn.acme.example/logo.svg"}}, "https"),
        ({"branding": LOOK | {"logo_uri": "javascript:alert(1)"}}, "https"),
        ({"branding": LOOK | {"logo_uri": 'https://cdn.acme.example/a"onerror="x'}}, "characters"),
        ({"branding": LOOK | {"display_name": "\n"}}, "printable"),
        ({"branding": LOOK | {"css": "body{}"}}, "css"),
        ({"embed_origins": ["https://shop.example.com/"]}, "no path"),
        ({"embed_origins": ["https://shop.example.com/privacy"]}, "no path"),
        ({"embed_origins": ["https://*.example.com"]}, "wildcards"),
        ({"embed_origins": ["https://shop.example.com#"]}, "no path"),
        ({"embed_origins": ["https://shop.example.com:"]}, "invalid port"),
        ({"embed_origins": ["*"]}, "scheme://host"),
        ({"embed_origins": ["http://shop.example.com"]}, "https"),
        ({"embed_origins": ["https://shop.example.com:99999"]}, "scheme://host"),
        ({"embed_origins": ["https://Shop.example.com"]}, "lower-case"),
        ({"embed_origins": ["https://shop.example.com 'unsafe-inline'"]}, "lower-case host"),
    ],
)
async def test_a_bad_look_or_origin_is_a_problem_and_writes_nothing(
    auth: AuthService, body: dict[str, Any], says: str
) -> None:
    headers = bearer(await auth.admin_token())
    before = await client_count(auth)
    refused = await auth.http.post("/v1/admin/clients", json=APP | body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert says in str(refused.json()), refused.json()
    assert await client_count(auth) == before
    # Nor can an existing app be given it.
    app = await auth.http.post("/v1/admin/clients", json=APP, headers=headers)
    changed = await auth.http.put(
        f"/v1/admin/clients/{app.json()['client_id']}", json=APP | body, headers=headers
    )
    assert changed.status_code == 422, changed.text


async def test_loopback_http_may_frame_the_pages_outside_production_only(
    auth: AuthService,
) -> None:
    headers = bearer(await auth.admin_token())
    local = await auth.http.post(
        "/v1/admin/clients",
        json=APP | {"embed_origins": ["http://localhost:5173", "http://127.0.0.1:8080"]},
        headers=headers,
    )
    assert local.status_code == 201, local.text  # the test environment is not production
    assert branding.origin_problem("http://localhost:5173", loopback_http=False)
    assert branding.origin_problem("http://127.0.0.1:8080", loopback_http=False)
    assert branding.origin_problem("https://localhost:5173", loopback_http=False) is None


def test_contrast_follows_wcag() -> None:
    assert round(branding.contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(branding.contrast("#1d4ed8", "#ffffff"), 2) == 6.70
    assert branding.contrast("#777777", "#ffffff") < 4.5 < branding.contrast("#767676", "#ffffff")
