"""The proof primitives alone: the hash chain's verdict, receipts' signatures, minimised context."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from starlette.requests import Request

from ciam_consent.http_context import gpc_signal, hash_user_agent, truncate_ip
from ciam_consent.integrity import (
    Link,
    ReceiptSigner,
    entry_hash,
    first_broken,
    notice_hash,
    receipt_payload,
    verify_receipt,
)


def chain(*statuses: str) -> list[Link]:
    links, previous = [], None
    for version, status in enumerate(statuses, start=1):
        fields = {"version": version, "status": status, "purpose": "analytics"}
        digest = entry_hash(fields, previous)
        links.append(Link(version, fields, previous, digest))
        previous = digest
    return links


def test_an_intact_chain_and_an_empty_one_have_no_broken_entry() -> None:
    assert first_broken(chain("granted", "withdrawn", "granted")) is None
    assert first_broken([]) is None


def test_a_changed_field_names_the_changed_entry() -> None:
    links = chain("granted", "withdrawn", "granted")
    links[1].fields["status"] = "granted"
    assert first_broken(links) == 2


def test_a_rewritten_entry_with_a_fresh_hash_names_the_next_entry() -> None:
    """Whoever recomputes the tampered entry's hash still breaks the link of the next one."""
    links = chain("granted", "withdrawn", "granted")
    fields = links[1].fields | {"status": "granted"}
    links[1] = Link(2, fields, links[1].previous_hash, entry_hash(fields, links[1].previous_hash))
    assert first_broken(links) == 3


def test_a_removed_entry_names_the_one_after_the_gap() -> None:
    links = chain("granted", "withdrawn", "granted")
    assert first_broken([links[0], links[2]]) == 3


def test_a_removed_first_entry_and_a_reordering_are_detected() -> None:
    links = chain("granted", "withdrawn", "granted")
    assert first_broken(links[1:]) == 2
    assert first_broken([links[1], links[0], links[2]]) == 2


def test_the_notice_hash_does_not_depend_on_key_order_but_on_every_word() -> None:
    assert notice_hash({"en": "a", "pl": "b"}) == notice_hash({"pl": "b", "en": "a"})
    assert notice_hash({"en": "a", "pl": "b"}) != notice_hash({"en": "a", "pl": "c"})


def _signer() -> ReceiptSigner:
    return ReceiptSigner(ECKey.generate_key("P-256").as_pem(private=True).decode())


def _tampered(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps(claims | changes).encode()).rstrip(b"=")
    return f"{header}.{forged.decode()}.{signature}"


def test_a_receipt_verifies_with_the_published_key_and_names_it() -> None:
    signer = _signer()
    token = signer.sign({"status": "granted", "piiPrincipalId": "s"})
    assert verify_receipt(token, signer.jwks()) == {"status": "granted", "piiPrincipalId": "s"}
    assert receipt_payload(token) == {"status": "granted", "piiPrincipalId": "s"}
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "ES256", "kid": signer.kid, "typ": "consent-receipt+jwt"}
    assert signer.jwks()["keys"][0]["kid"] == signer.kid
    assert "d" not in signer.jwks()["keys"][0]  # the private part is never published


def test_a_modified_receipt_or_another_key_does_not_verify() -> None:
    signer = _signer()
    token = signer.sign({"status": "granted"})
    with pytest.raises(JoseError):
        verify_receipt(_tampered(token, status="withdrawn"), signer.jwks())
    with pytest.raises(JoseError):
        verify_receipt(token, _signer().jwks())


def test_an_empty_key_signs_with_an_ephemeral_one_in_development(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signer = ReceiptSigner("  ", development=True)
    assert verify_receipt(signer.sign({"a": 1}), signer.jwks()) == {"a": 1}
    assert "ephemeral" in caplog.text


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("not-an-address", None),
        ("", None),
        (None, None),
    ],
)
def test_an_address_is_kept_only_as_its_network(raw: str | None, kept: str | None) -> None:
    assert truncate_ip(raw) == kept


def test_a_user_agent_is_kept_only_as_its_hash() -> None:
    assert hash_user_agent("Firefox/140") == hashlib.sha256(b"Firefox/140").hexdigest()
    assert hash_user_agent("") is None
    assert hash_user_agent(None) is None


def _request(*headers: tuple[bytes, bytes]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": list(headers)})


@pytest.mark.parametrize(
    ("headers", "signal"),
    [
        ((), False),
        (((b"sec-gpc", b"1"),), True),
        (((b"sec-gpc", b" 1 "),), True),
        (((b"sec-gpc", b"0"),), False),
        (((b"sec-gpc", b"true"),), False),
        (((b"sec-gpc", b""),), False),
    ],
)
def test_only_sec_gpc_1_is_a_signal(headers: tuple[tuple[bytes, bytes], ...], signal: bool) -> None:
    assert gpc_signal(_request(*headers)) is signal
