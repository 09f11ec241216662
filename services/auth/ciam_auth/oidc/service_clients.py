"""Machine clients the operator declares (`AUTH_SERVICE_CLIENTS` or `AUTH_SERVICE_CLIENTS_FILE`),
such as the profile's and the notifier's clients for the internal API, upserted at every start.

A declared client is confidential (`client_secret_basic`), first party, of no brand, with the
client credentials grant only and no redirect URI. The declaration owns its rows: a changed
secret, name, scope or purpose list is applied at the next start; clients it does not name are
left alone (removing one from the list does not delete it: use the admin API). Replicas starting
together on one database each run the upsert; the database serialises them (INSERT .. ON
CONFLICT DO NOTHING, then a locked read), so exactly one of them publishes each change.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import OAuthClient
from ciam_auth.oidc import clients
from ciam_shared.db import unit_of_work, utcnow
from ciam_shared.service import ServiceRuntime
from ciam_shared.settings import MIN_SECRET_LENGTH, PLACEHOLDER_SECRETS
from ciam_shared.tokens.scopes import FIRST_PARTY_CLIENT

log = logging.getLogger(__name__)
Scope = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.:-]{0,63}$")]
# A client credentials token names no user: these scopes would be dropped from it anyway.
USER_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
Outcome = Literal["created", "updated", "unchanged"]


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
            clients.check(self.spec())
        except clients.InvalidClientRegistration as exc:
            raise ValueError(f"service client {self.client_id}: {exc.detail}") from None
        return self

    @property
    def weak(self) -> bool:
        raw = self.secret.get_secret_value()
        return raw.strip().lower() in PLACEHOLDER_SECRETS or len(raw) < MIN_SECRET_LENGTH

    def spec(self) -> clients.ClientSpec:
        return clients.ClientSpec(
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


async def upsert(
    session: AsyncSession, declared: ServiceClientConfig, *, topic_prefix: str
) -> Outcome:
    """Create or update one declared client; publishes on ciam.auth.apps only when it changed."""
    spec = declared.spec()
    columns = clients.columns(spec)
    digest = clients.secret_hash(declared.secret.get_secret_value())
    now = utcnow()
    insert = postgresql.insert
    created = await session.scalar(
        insert(OAuthClient)
        .values(
            client_id=declared.client_id,
            secret_hash=digest,
            created_at=now,
            updated_at=now,
            **columns,
        )
        .on_conflict_do_nothing(index_elements=[OAuthClient.client_id])
        .returning(OAuthClient.client_id)
    )
    if created is not None:
        client = await clients.get(session, declared.client_id)
        await clients.publish(session, client, topic_prefix)
        return "created"
    # The row exists (perhaps inserted a moment ago by another replica, whose transaction the
    # insert above waited for): lock it, so of two replicas applying one change only the first
    # sees a difference.
    existing = await session.scalars(
        select(OAuthClient)
        .where(OAuthClient.client_id == declared.client_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    client = existing.one()  # gone only if an admin deleted it this instant: the start fails
    current = {name: getattr(client, name) for name in columns}
    if current == columns and client.secret_hash == digest:
        return "unchanged"
    for name, value in columns.items():
        setattr(client, name, value)
    client.secret_hash = digest
    client.updated_at = now
    await session.flush()
    await clients.publish(session, client, topic_prefix)
    return "updated"


async def start_service_clients(runtime: ServiceRuntime) -> None:
    """The start hook: one transaction for the whole declaration (all or nothing)."""
    declared: list[ServiceClientConfig] = getattr(runtime.settings, "service_clients", [])
    if not declared:
        return
    async with unit_of_work(runtime.sessions) as session:
        # One order for every replica, so two of them never wait on each other's rows.
        outcomes = {
            c.client_id: await upsert(session, c, topic_prefix=runtime.topic_prefix)
            for c in sorted(declared, key=lambda c: c.client_id)
        }
    for client_id, outcome in outcomes.items():
        # Ids only: the secrets stay out of every log line.
        log.info("service client %s %s", client_id, outcome)
    for weak in (c.client_id for c in declared if c.weak):
        log.warning("service client %s has a weak secret (accepted in development only)", weak)
