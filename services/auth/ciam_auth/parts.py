"""The auth service's own parts: built once by `create_app`, carried by its runtime.

Routes take them through the dependencies below (`AuthDep`, `ProviderDep`, `SocialDep`,
`SessionStoreDep`, `CurrentSessionDep`), code holding the runtime reads `runtime.parts`.
This module sits above the capabilities (it names the provider's and social sign-in's
wiring) and below their `api` modules.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.context import AuthContext
from ciam_auth.oidc.provider import Provider
from ciam_auth.sessions.store import COOKIE, Session, SessionStore
from ciam_auth.social.runtime import Social
from ciam_shared.service import ServiceRuntime, parts_dependency

# An account's linked providers that are enabled here, as (id, display name): social
# sign-in answers it for the account page, which so does not import the social capability.
LinkedProviders = Callable[[AsyncSession, uuid.UUID], Awaitable[list[tuple[str, str]]]]
# An account's passkeys as the account page lists them (the passkey capability answers it,
# wired by create_app, so the account page does not import that capability).
PasskeysOf = Callable[[AsyncSession, uuid.UUID], Awaitable[list[Any]]]


async def _no_passkeys(session: AsyncSession, account_id: uuid.UUID) -> list[Any]:
    return []


@dataclass(frozen=True)
class AuthParts:
    # What the use cases need besides a database session: settings, passwords, the session
    # store, the throttle, the mail and job queues (and their workers), sealing.
    context: AuthContext
    # The OIDC provider: signing keys, token issuer, grants, client cache, assertions.
    provider: Provider
    # Social sign-in: the upstream providers, the flow store, the consent recorder.
    social: Social
    linked_providers: LinkedProviders
    passkeys_of: PasskeysOf = _no_passkeys

    @property
    def sessions(self) -> SessionStore:
        return self.context.sessions


AuthRuntime = ServiceRuntime[AuthParts]
PartsDep = Annotated[AuthParts, Depends(parts_dependency(AuthParts))]


def parts_of(request: Request) -> AuthParts:
    """The running service's parts, for code that holds the request (not a dependency)."""
    parts = request.app.state.runtime.parts
    if not isinstance(parts, AuthParts):
        raise TypeError(f"the service's parts are a {type(parts).__name__}, not AuthParts")
    return parts


# The dependencies read the parts directly, not through PartsDep: one dependency per
# request instead of two. async: FastAPI runs a plain `def` dependency in a worker thread (a
# thread hop per request: on one core, as much CPU as a refresh's database statement).


async def auth_context(request: Request) -> AuthContext:
    return parts_of(request).context


AuthDep = Annotated[AuthContext, Depends(auth_context)]


def provider_of(request: Request) -> Provider:
    return parts_of(request).provider


async def get_provider(request: Request) -> Provider:
    return parts_of(request).provider


ProviderDep = Annotated[Provider, Depends(get_provider)]


async def get_social(request: Request) -> Social:
    return parts_of(request).social


SocialDep = Annotated[Social, Depends(get_social)]


async def session_store(request: Request) -> SessionStore:
    return parts_of(request).sessions


SessionStoreDep = Annotated[SessionStore, Depends(session_store)]


async def current_session(request: Request) -> Session | None:
    """The session named by the request's cookie, if it is live. A session started in a brand
    app's frame (`Session.embed`, embedding.py) is never one: not even if its secret turns
    up in the top-level cookie."""
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 100:
        return None
    session = await parts_of(request).sessions.get_by_secret(secret)
    return session if session is not None and session.embed is None else None


CurrentSessionDep = Annotated[Session | None, Depends(current_session)]


async def auth_runtime(request: Request) -> AuthRuntime:
    """The running service's runtime with its parts typed, for routes that pass it on."""
    runtime: AuthRuntime = request.app.state.runtime
    parts_of(request)  # checked: the annotation above is only a claim
    return runtime


AuthRuntimeDep = Annotated[AuthRuntime, Depends(auth_runtime)]
