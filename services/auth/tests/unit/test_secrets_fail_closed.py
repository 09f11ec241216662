"""Outside development the auth service refuses to start without its key encryption secret:
no hard-coded sealing key (issue 12, "secrets fail open")."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ciam_auth.adapters.sealing import KeyEncryption
from ciam_auth.settings import AuthSettings


def test_without_an_environment_the_settings_are_production_and_demand_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("CIAM_ENVIRONMENT", "AUTH_ENVIRONMENT", "AUTH_KEY_ENCRYPTION_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ValidationError, match="AUTH_KEY_ENCRYPTION_SECRET"):
        AuthSettings()


def test_sealing_never_falls_back_to_the_development_key_outside_development() -> None:
    with pytest.raises(ValueError, match="AUTH_KEY_ENCRYPTION_SECRET is not set"):
        KeyEncryption("")
    development = KeyEncryption("", development=True)
    assert development.open(development.seal(b"x")) == b"x"
