"""The operator's declaration of machine clients (`AUTH_SERVICE_CLIENTS` or
`AUTH_SERVICE_CLIENTS_FILE`), as the settings read and check it. Nothing of the database: the
upsert at start is `service_clients.py`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ciam_auth.oidc import registration
from ciam_shared.settings import MIN_SECRET_LENGTH, PLACEHOLDER_SECRETS
from ciam_shared.tokens.scopes import FIRST_PARTY_CLIENT

Scope = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.:-]{0,63}$")]
# A client credentials token names no user: these scopes would be dropped from it anyway.
USER_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


class ServiceClientConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    secret: SecretStr
    scopes: list[Scope] = Field(min_length=1, max_length=50)
    name: str = Field(default="", max_length=200)
    # Purposes the client declares on ciam.auth.apps (consent and the notifier hold an app to
    # them); a service that only reads the internal API declares none.
    purposes: list[str] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _check(self) -> ServiceClientConfig:
        if not self.secret.get_secret_value():
            raise ValueError(f"service client {self.client_id}: secret is empty")
        if user := sorted(USER_SCOPES & set(self.scopes)):
            raise ValueError(
                f"service client {self.client_id}: API scopes only, not {' '.join(user)}"
            )
        if self.client_id == FIRST_PARTY_CLIENT:
            # Tokens of this id are auth's own (its pages act for the customer with them).
            raise ValueError(f"service client {self.client_id}: this id is reserved for auth")
        try:
            # The same rules as every other registration (customer scopes need a customer).
            registration.check(self.spec())
        except registration.InvalidClientRegistration as exc:
            raise ValueError(f"service client {self.client_id}: {exc.detail}") from None
        return self

    @property
    def weak(self) -> bool:
        raw = self.secret.get_secret_value()
        return raw.strip().lower() in PLACEHOLDER_SECRETS or len(raw) < MIN_SECRET_LENGTH

    def spec(self) -> registration.ClientSpec:
        return registration.ClientSpec(
            name=self.name or self.client_id,
            brand=None,
            redirect_uris=[],
            post_logout_redirect_uris=[],
            scopes=self.scopes,
            purposes=self.purposes,
            grant_types=["client_credentials"],
            auth_method="client_secret_basic",
            first_party=True,
        )


def check_declaration(declared: list[ServiceClientConfig]) -> None:
    ids = [c.client_id for c in declared]
    if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
        raise ValueError(f"service clients declared twice: {', '.join(duplicates)}")


def read_file(path: str) -> list[object]:
    """The raw declaration in a JSON file (a mounted secret). Errors never quote the content."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"service_clients_file {path}: {exc.strerror}") from None
    except ValueError:
        raise ValueError(f"service_clients_file {path}: not JSON") from None
    if not isinstance(data, list):
        raise ValueError(f"service_clients_file {path}: a JSON list of clients is expected")
    return data
