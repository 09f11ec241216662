"""What every page of the service shares: the templates, `render` (CSRF token, language
switch, security headers) and the failure messages. The pages themselves are in each
capability's `api` package (accounts, sessions, social). Plain HTML forms that work without
JavaScript (static/auth.js only improves them: local times), Polish and English; every form
carries the double-submit CSRF token (web.py). The layout and style sheet are shared with the
provider's and social sign-in's pages (templates/layout.html, static/auth.css).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from ciam_auth.context import AuthContext
from ciam_auth.embedding import embedding_of
from ciam_auth.errors import (
    CsrfFailed,
    EmailNotVerified,
    InvalidToken,
    PasswordRefused,
    Throttled,
)
from ciam_auth.i18n import channel_name, device_name, file_size, text
from ciam_auth.page_security import page_headers
from ciam_auth.theming import header_values, page_values
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

    def t_html(key: str, **kw: object) -> Markup:
        """A message with markup in its values (a `<time>`): the message itself is escaped."""
        return escape(text(locale, key)).format(**kw)

    # The other language, keeping the query (return_to...); only on pages a GET can show again.
    other = "en" if locale == "pl" else "pl"
    switch_url: str | None = None
    if request.method == "GET":
        url = request.url.include_query_params(ui_locales=other)
        switch_url = f"{url.path}?{url.query}"
    body = TEMPLATES.get_template(template).render(
        t=t,
        t_html=t_html,
        device=lambda label: device_name(locale, label),
        channel=lambda name: channel_name(locale, name),
        file_size=lambda size: file_size(locale, size),
        locale=locale,
        lang=locale,
        site_name=t("service"),
        title=t(title_key),
        csrf=token,
        other_locale=other,
        switch_url=switch_url,
        # In a brand app's frame (embedding.py): what cannot work there opens a new window.
        embedded=embedding_of(request) is not None,
        **(page_values(request) | values),
    )
    response.body = response.render(body)
    response.headers["content-length"] = str(len(response.body))
    # No form-action: browsers apply it to the redirects after a form post too, and the sign-in
    # ends in a redirect to the app's redirect URI (OIDC). frame-ancestors: no clickjacking.
    # A page opened for a brand app (theming.py) may be framed by the origins it registered.
    response.headers.update(page_headers(**header_values(request)))
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
