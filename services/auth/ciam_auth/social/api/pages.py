"""Social sign-in's pages in Polish and English; they extend the provider's base page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape

from ciam_auth.i18n import text
from ciam_auth.oidc.api import pages as oidc_pages
from ciam_auth.page_security import page_headers

locale = oidc_pages.locale
_env = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(Path(__file__).parent.parent / "templates"),
            FileSystemLoader(oidc_pages.TEMPLATES),
            PackageLoader("ciam_auth", "templates"),
        ]
    ),
    autoescape=select_autoescape(["html"]),
)

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "import_title": "Welcome",
        "import_intro": "You are signing in with {provider}. Which of your {provider} details "
        "may we copy to your profile? You can change this later.",
        "link_title": "Link your {provider} account?",
        "link_intro": "Your {provider} account will be linked to the account you are signed "
        "in to: from now on you can sign in with either.",
        "link_prove": "An account with the address {email} already exists. To link {provider} "
        "to it, sign in to that account first: we link them only when you prove it is yours.",
        "link_prove_button": "Sign in to link",
        "link_other_account": "You are signed in to another account. Sign out, then sign in "
        "to the account you want to link.",
        "fields_legend": "Copy from {provider}",
        "field_name": "Name",
        "field_email": "Email address",
        "field_picture": "Profile picture",
        "field_locale": "Language",
        "field_birthday": "Date of birth",
        "continue": "Continue",
        "link_button": "Link and continue",
        "cancel": "Cancel",
        "error_title": "Sign-in with {provider} did not work",
        # When no provider is known (an unknown one, or the sign-in's state is gone).
        "error_title_any": "Sign-in did not work",
        "error_unknown_provider": "This sign-in option is not available.",
        "error_expired": "The sign-in took too long or was already used. Please start again.",
        "error_cancelled": "The sign-in was cancelled at {provider}.",
        "error_unavailable": "{provider} is not answering right now. Please try again later "
        "or use another way to sign in.",
        "error_refused": "{provider} sent an answer we could not trust, so you are not signed "
        "in. Please start again.",
        "error_unverified": "{provider} did not confirm that this email address is yours, and "
        "an account with it exists. Sign in to that account and link {provider} from your "
        "account settings.",
        "error_linked_elsewhere": "This {provider} account is already linked to another account.",
        "error_csrf": "The form expired. Please start again.",
        "error_reauth_stale": "{provider} did not ask you to sign in again, so we could not "
        "confirm it is you. Please try again.",
        "error_reauth_other": "This {provider} account is not linked to the account you are "
        "signed in to. Sign in again with the {provider} account you linked.",
        "error_link_invalid": "This link does not work: it was already used, it expired, or "
        "it was opened in another browser than the one where you signed in with the "
        "provider. Nothing was linked. Please start again.",
        "link_mail_intro": "Or we send a confirmation link to {email}: open it in this browser "
        "within 10 minutes.",
        "link_mail_button": "Send me a confirmation link",
        "link_confirm_intro": "Your {provider} account will be linked to your account {email}: "
        "from now on you can sign in with either.",
        "link_mail_sent_title": "Check your email",
        "link_mail_sent": "If the address is right, a link is on its way to {email}. Open it "
        "in this browser within 10 minutes to link {provider}.",
        "back": "Back to sign-in",
        "takeover_notice": "The address {email} was used to register an account with a "
        "password, but it was never confirmed. {provider} confirms that the address is yours, "
        "so if you continue, that unconfirmed registration and its password are removed and "
        "the address belongs to your new account. You can set a password later in your "
        "account settings.",
    },
    "pl": {
        "import_title": "Witamy",
        "import_intro": "Logujesz się przez {provider}. Które dane z {provider} możemy "
        "skopiować do Twojego profilu? Możesz to później zmienić.",
        "link_title": "Połączyć konto {provider}?",
        "link_intro": "Konto {provider} zostanie połączone z kontem, którego teraz używasz: "
        "odtąd możesz logować się dowolnym z nich.",
        "link_prove": "Konto z adresem {email} już istnieje. Aby połączyć z nim {provider}, "
        "najpierw zaloguj się na to konto: łączymy je tylko, gdy udowodnisz, że należy do Ciebie.",
        "link_prove_button": "Zaloguj się, aby połączyć",
        "link_other_account": "Teraz używasz innego konta. Wyloguj się i zaloguj na "
        "konto, które chcesz połączyć.",
        "fields_legend": "Skopiuj z {provider}",
        "field_name": "Imię i nazwisko",
        "field_email": "Adres e-mail",
        "field_picture": "Zdjęcie profilowe",
        "field_locale": "Język",
        "field_birthday": "Data urodzenia",
        "continue": "Dalej",
        "link_button": "Połącz i przejdź dalej",
        "cancel": "Anuluj",
        "error_title": "Logowanie przez {provider} nie powiodło się",
        "error_title_any": "Logowanie nie powiodło się",
        "error_unknown_provider": "Ta metoda logowania jest niedostępna.",
        "error_expired": "Logowanie trwało zbyt długo lub zostało już użyte. Zacznij od nowa.",
        "error_cancelled": "Logowanie zostało anulowane w {provider}.",
        "error_unavailable": "{provider} nie odpowiada. Spróbuj później lub zaloguj się "
        "w inny sposób.",
        "error_refused": "{provider} przesłał odpowiedź, której nie możemy zaufać, więc nie "
        "zalogowaliśmy Cię. Zacznij od nowa.",
        "error_unverified": "{provider} nie potwierdził, że ten adres e-mail należy do Ciebie, "
        "a konto z tym adresem istnieje. Zaloguj się na to konto i połącz {provider} "
        "w ustawieniach konta.",
        "error_linked_elsewhere": "To konto {provider} jest już połączone z innym kontem.",
        "error_csrf": "Formularz wygasł. Zacznij od nowa.",
        "error_reauth_stale": "{provider} nie poprosił Cię o ponowne zalogowanie, więc nie "
        "mogliśmy potwierdzić, że to Ty. Spróbuj ponownie.",
        "error_reauth_other": "To konto {provider} nie jest połączone z kontem, którego teraz "
        "używasz. Zaloguj się ponownie kontem {provider} połączonym z tym kontem.",
        "error_link_invalid": "Ten link nie działa: został już użyty, wygasł albo otwarto go "
        "w innej przeglądarce niż ta, w której nastąpiło logowanie przez dostawcę. Nic nie "
        "zostało połączone. Zacznij od nowa.",
        "link_mail_intro": "Albo wyślemy link potwierdzający na {email}: otwórz go w tej "
        "przeglądarce w ciągu 10 minut.",
        "link_mail_button": "Wyślij mi link potwierdzający",
        "link_confirm_intro": "Konto {provider} zostanie połączone z Twoim kontem {email}: "
        "odtąd możesz logować się dowolnym z nich.",
        "link_mail_sent_title": "Sprawdź pocztę",
        "link_mail_sent": "Jeśli adres się zgadza, link jest w drodze na {email}. Otwórz go "
        "w tej przeglądarce w ciągu 10 minut, aby połączyć {provider}.",
        "back": "Wróć do logowania",
        "takeover_notice": "Adresu {email} użyto do rejestracji konta z hasłem, ale nigdy go "
        "nie potwierdzono. {provider} potwierdza, że adres należy do Ciebie, więc jeśli "
        "przejdziesz dalej, ta niepotwierdzona rejestracja i jej hasło zostaną usunięte, "
        "a adres będzie należeć do Twojego nowego konta. Hasło możesz ustawić później "
        "w ustawieniach konta.",
    },
}


def render(
    request: Request, template: str, *, lang: str, status: int = 200, **context: Any
) -> HTMLResponse:
    provider = context.get("provider", "")
    messages = {k: v.replace("{provider}", provider) for k, v in MESSAGES[lang].items()}
    html = _env.get_template(template).render(
        t=messages, lang=lang, site_name=text(lang, "service"), **context
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers=page_headers(
            form_action="'self'", img_src="'self' data: https:", referrer="no-referrer"
        ),
    )


def error_page(
    request: Request, code: str, *, lang: str, provider: str = "", status: int = 400
) -> HTMLResponse:
    return render(request, "social_error.html", lang=lang, status=status, code=code,
                  provider=provider)  # fmt: skip
