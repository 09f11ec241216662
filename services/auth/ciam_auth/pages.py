"""What every page of the service shares: the templates, `render` (CSRF token, language
switch, security headers) and the failure messages. The pages themselves are in each
capability's `api` package (accounts, sessions, social). Plain HTML forms, no JavaScript,
Polish and English; every form carries the double-submit CSRF token (web.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from ciam_auth.context import AuthContext
from ciam_auth.errors import (
    CsrfFailed,
    EmailNotVerified,
    InvalidToken,
    PasswordRefused,
    Throttled,
)
from ciam_auth.i18n import text
from ciam_auth.web import csrf_token

TEMPLATES = Environment(
    loader=PackageLoader("ciam_auth", "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)

FormStr = Annotated[str, Form(max_length=1024)]
OptionalForm = Annotated[str | None, Form(max_length=1024)]


def render(
    request: Request,
    ctx: AuthContext,
    template: str,
    *,
    locale: str,
    title_key: str,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    response = HTMLResponse("", status_code=status_code)
    token = csrf_token(request, response, secure=ctx.settings.secure_cookies)

    def t(key: str, **kw: object) -> str:
        return text(locale, key, **kw)

    # The other language, keeping the query (return_to...); only on pages a GET can show again.
    other = "en" if locale == "pl" else "pl"
    switch_url: str | None = None
    if request.method == "GET":
        url = request.url.include_query_params(ui_locales=other)
        switch_url = f"{url.path}?{url.query}"
    body = TEMPLATES.get_template(template).render(
        t=t,
        locale=locale,
        title=t(title_key),
        csrf=token,
        other_locale=other,
        switch_url=switch_url,
        **values,
    )
    response.body = response.render(body)
    response.headers["content-length"] = str(len(response.body))
    response.headers["cache-control"] = "no-store"
    # No form-action: browsers apply it to the redirects after a form post too, and the sign-in
    # ends in a redirect to the app's redirect URI (OIDC). frame-ancestors: no clickjacking.
    # script-src/connect-src 'self': the passkey script is a static file of ours calling our
    # own API (no inline script, no other origin).
    response.headers["content-security-policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'"
    )
    return response


def failure_message(locale: str, exc: Exception) -> tuple[str, int]:
    if isinstance(exc, Throttled):
        return text(locale, "throttled", seconds=exc.retry_after), 429
    if isinstance(exc, CsrfFailed):
        return text(locale, "form_expired"), 403
    if isinstance(exc, EmailNotVerified):
        return text(locale, "not_verified"), 403
    if isinstance(exc, PasswordRefused):
        key = "password_common" if exc.extensions.get("reason") == "common" else "password_length"
        return text(locale, key), 422
    if isinstance(exc, InvalidToken):
        return text(locale, "token_invalid"), 400
    return text(locale, "login_failed"), 401
