"""OAuth 2.0 errors. The token, introspection and revocation endpoints answer in the format
RFC 6749 section 5.2 mandates (`error`, `error_description`), not problem details: every OAuth
client library parses this one."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ciam_shared.http.problems import DomainError


class OAuthError(Exception):
    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class InvalidClient(OAuthError):
    def __init__(self, description: str = "Client authentication failed.", *, basic: bool = False):
        super().__init__("invalid_client", description, status=401)
        self.basic = basic


class AccountNotFound(DomainError):
    status = 404
    type_slug = "account-not-found"
    title = "No such account"


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def install_oauth_error_handler(app: FastAPI) -> None:
    @app.exception_handler(OAuthError)
    async def _render(request: Request, exc: OAuthError) -> JSONResponse:
        headers = dict(NO_STORE)
        if isinstance(exc, InvalidClient) and exc.basic:
            headers["WWW-Authenticate"] = 'Basic realm="ciam"'
        return JSONResponse(
            {"error": exc.error, "error_description": exc.description},
            status_code=exc.status,
            headers=headers,
        )
