"""The provider's pages (consent, sign-out, errors) in Polish and English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape

from ciam_auth.i18n import text
from ciam_auth.page_security import page_headers

# The provider's templates (oidc/templates); social's pages extend its base page, which extends
# the layout every auth page shares (ciam_auth/templates/layout.html).
TEMPLATES = Path(__file__).parent.parent / "templates"
_env = Environment(
    loader=ChoiceLoader([FileSystemLoader(TEMPLATES), PackageLoader("ciam_auth", "templates")]),
    autoescape=select_autoescape(["html"]),
)

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "consent_title": "Allow access?",
        "consent_intro": "{app} asks to:",
        "consent_purposes": "{app} uses your data for these purposes, each only with your consent:",
        "consent_privacy": "See and change your consents at any time on the privacy page.",
        "allow": "Allow",
        "deny": "Deny",
        "scope_openid": "Know who you are",
        "scope_profile": "See your basic profile",
        "scope_email": "See your email address",
        "scope_offline_access": "Stay signed in when you are not using it",
        # Customer scopes (ciam_shared.tokens.scopes): what the app may do for you.
        "scope_me:consents:read": "See your consents (given and withdrawn)",
        "scope_me:consents:write": (
            "Give and withdraw your consents for the purposes it uses, in its own brand"
        ),
        "scope_me:profile:read": "See the data in your customer profile",
        "scope_me:profile:write": "Change the data in your customer profile",
        "scope_me:profile:export": "Download a copy of all your customer profile data",
        "scope_other": "Use: {scope}",
        "logout_title": "Sign out?",
        "logout_confirm": "Sign out of all brand apps on this device?",
        "logout_button": "Sign out",
        "logged_out_title": "You are signed out",
        "logged_out_text": "You have signed out on this device.",
        "error_title": "This sign-in request cannot be completed",
        "error_unknown_client": "The app that sent you here is not known.",
        "error_bad_redirect_uri": "The app asked to return you to an address it did not register.",
        "error_unauthorized_client": "The app may not sign customers in this way.",
        "error_bad_logout": "The sign-out request is not valid.",
        "error_csrf": "The form expired. Go back and try again.",
        "error_back": "Go back to the app you came from and try again.",
    },
    "pl": {
        "consent_title": "Zezwolić na dostęp?",
        "consent_intro": "{app} prosi o:",
        "consent_purposes": (
            "{app} wykorzystuje dane w tych celach, w każdym tylko za Twoją zgodą:"
        ),
        "consent_privacy": (
            "Zgody można w każdej chwili sprawdzić i zmienić na stronie prywatności."
        ),
        "allow": "Zezwól",
        "deny": "Odmów",
        "scope_openid": "Rozpoznanie, kim jesteś",
        "scope_profile": "Wgląd w podstawowy profil",
        "scope_email": "Wgląd w Twój adres e-mail",
        "scope_offline_access": "Dostęp także wtedy, gdy z niej nie korzystasz",
        "scope_me:consents:read": "Wgląd w Twoje zgody (udzielone i wycofane)",
        "scope_me:consents:write": (
            "Udzielanie i wycofywanie Twoich zgód na cele, do których aplikacja używa danych, "
            "w obrębie jej marki"
        ),
        "scope_me:profile:read": "Wgląd w dane Twojego profilu klienta",
        "scope_me:profile:write": "Zmianę danych Twojego profilu klienta",
        "scope_me:profile:export": "Pobranie kopii wszystkich danych Twojego profilu klienta",
        "scope_other": "Użycie: {scope}",
        "logout_title": "Wylogować?",
        "logout_confirm": "Wylogować ze wszystkich aplikacji marki na tym urządzeniu?",
        "logout_button": "Wyloguj",
        "logged_out_title": "Wylogowano",
        "logged_out_text": "Wylogowano Cię na tym urządzeniu.",
        "error_title": "Nie można dokończyć logowania",
        "error_unknown_client": "Aplikacja, która Cię tu skierowała, jest nieznana.",
        "error_bad_redirect_uri": (
            "Aplikacja chce Cię odesłać pod adres, którego nie zarejestrowała."
        ),
        "error_unauthorized_client": "Ta aplikacja nie może logować klientów w ten sposób.",
        "error_bad_logout": "Żądanie wylogowania jest nieprawidłowe.",
        "error_csrf": "Formularz wygasł. Wróć i spróbuj ponownie.",
        "error_back": "Wróć do aplikacji, z której przychodzisz, i spróbuj ponownie.",
    },
}


def locale(request: Request, ui_locales: str | None = None) -> str:
    """`ui_locales` first (OIDC Core 3.1.2.1), then Accept-Language; English otherwise."""
    wanted = (ui_locales or "").split() + [
        part.split(";")[0].strip() for part in request.headers.get("accept-language", "").split(",")
    ]
    for tag in wanted:
        language = tag.split("-")[0].lower()
        if language in MESSAGES:
            return language
    return "en"


def render(
    request: Request, template: str, *, lang: str, status: int = 200, **context: Any
) -> HTMLResponse:
    messages = MESSAGES[lang]
    html = _env.get_template(template).render(
        t=messages, lang=lang, site_name=text(lang, "service"), **context
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers=page_headers(form_action="'self' http: https:", referrer="no-referrer"),
    )


def error_page(request: Request, code: str, *, lang: str, status: int = 400) -> HTMLResponse:
    return render(request, "error.html", lang=lang, status=status, code=code)


def scope_label(lang: str, scope: str) -> str:
    messages = MESSAGES[lang]
    return messages.get(f"scope_{scope}", messages["scope_other"].format(scope=scope))
