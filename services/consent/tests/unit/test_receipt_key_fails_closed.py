"""Outside development the consent service refuses to start without its receipt signing key:
no receipts signed with a throwaway key that stops verifying at the next start (issue 12)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ciam_consent.integrity import ReceiptSigner
from ciam_consent.settings import ConsentSettings


def test_without_an_environment_the_settings_demand_the_receipt_signing_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("CIAM_ENVIRONMENT", "CONSENT_ENVIRONMENT", "CONSENT_RECEIPT_SIGNING_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TOKEN_ISSUER", "https://auth.example")
    with pytest.raises(ValidationError, match="CONSENT_RECEIPT_SIGNING_KEY"):
        ConsentSettings()


def test_receipts_are_never_signed_with_an_ephemeral_key_outside_development() -> None:
    with pytest.raises(ValueError, match="CONSENT_RECEIPT_SIGNING_KEY is not set"):
        ReceiptSigner("")
    assert ReceiptSigner("", development=True).jwks()["keys"]
