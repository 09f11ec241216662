"""The passkey and email-code texts in Polish and English (neutral Polish phrasing): part of
the one catalogue (`ciam_auth.i18n.text` reads them), kept apart so that the capability's
texts change in one place."""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "passkeys": "Passkeys",
        "passkeys_intro": (
            "A passkey signs you in with your device's screen lock (fingerprint, face or PIN) "
            "instead of a password. It cannot be phished or reused on another site."
        ),
        "passkeys_none": "You have no passkey yet.",
        "passkey_name": "Name",
        "passkey_created": "Created",
        "passkey_last_used": "Last used",
        "passkey_kind": "Kind",
        "passkey_never": "never",
        "passkey_synced": "synced across your devices",
        "passkey_device_bound": "on this device only",
        "passkey_backed_up": "backed up",
        "passkey_flagged": "Blocked: a copy of this passkey may be in use. Remove it.",
        "passkey_rename": "Rename",
        "passkey_remove": "Remove",
        "passkey_create": "Create a passkey",
        "passkey_create_failed": "The passkey was not created. Please try again.",
        "passkey_sign_in": "Sign in with a passkey",
        "passkey_failed": "The passkey was not accepted. Please try again.",
        "passkey_required": "This app asks you to sign in with a passkey.",
        "passkey_needs_js": "Signing in with a passkey needs JavaScript in this browser.",
        "passkey_added": "The passkey is ready: next time, sign in with it.",
        "passkey_renamed": "The passkey is renamed.",
        "passkey_removed": "The passkey is removed. Your other sessions were signed out.",
        "passkey_last": (
            "This is the last way to sign in to your account. Set a password or create "
            "another passkey first."
        ),
        "passkey_offer_title": "Sign in faster next time",
        "passkey_offer_intro": (
            "Create a passkey: next time you sign in with your fingerprint, face or screen "
            "lock, with no password to type or remember."
        ),
        "passkey_not_now": "Not now",
        "passkey_reauth": (
            "Sign in again with your passkey to change your address or delete the account"
        ),
        "passkey_register_title": "Create an account with a passkey",
        "passkey_register_intro": (
            "No password at all: your device's screen lock protects the account. We will "
            "email you a link and a code to confirm the address."
        ),
        "passkey_register_link": "Create an account with a passkey instead",
        "passkey_register_done": (
            "Check your inbox: we have sent a link and a code to confirm the address. Then "
            "sign in with your passkey."
        ),
        "email_code_link": "Email me a sign-in code",
        "email_code_title": "Sign in with a code",
        "email_code_intro": "We will email you a code (and a link) that signs you in once.",
        "email_code_send": "Send the code",
        "email_code_sent": (
            "If an account uses this address, we have sent it a code. It is valid for "
            "{minutes} minutes."
        ),
        "email_code_enter": "Enter the code from the email",
        "email_code_failed": "The code is not valid (any more). Request a new one.",
        "email_code_confirm": "Sign in",
        "email_code_subject": "Your sign-in code",
        "email_code_body": (
            "Your sign-in code is {code}.\n\nOr open this link to sign in:\n{link}\n\n"
            "It is valid for {minutes} minutes and works once. If you did not ask for it, "
            "ignore this email: nobody can sign in without the code.\n"
        ),
    },
    "pl": {
        "passkeys": "Klucze dostępu",
        "passkeys_intro": (
            "Klucz dostępu pozwala zalogować się blokadą ekranu urządzenia (odciskiem palca, "
            "twarzą lub kodem PIN) zamiast hasłem. Nie da się go wyłudzić ani użyć w innym "
            "serwisie."
        ),
        "passkeys_none": "Nie ma jeszcze żadnego klucza dostępu.",
        "passkey_name": "Nazwa",
        "passkey_created": "Utworzono",
        "passkey_last_used": "Ostatnie użycie",
        "passkey_kind": "Rodzaj",
        "passkey_never": "nigdy",
        "passkey_synced": "synchronizowany między urządzeniami",
        "passkey_device_bound": "tylko na tym urządzeniu",
        "passkey_backed_up": "z kopią zapasową",
        "passkey_flagged": "Zablokowany: możliwe, że używana jest kopia tego klucza. Usuń go.",
        "passkey_rename": "Zmień nazwę",
        "passkey_remove": "Usuń",
        "passkey_create": "Utwórz klucz dostępu",
        "passkey_create_failed": "Nie udało się utworzyć klucza dostępu. Spróbuj ponownie.",
        "passkey_sign_in": "Zaloguj się kluczem dostępu",
        "passkey_failed": "Klucz dostępu nie został przyjęty. Spróbuj ponownie.",
        "passkey_required": "Ta aplikacja wymaga logowania kluczem dostępu.",
        "passkey_needs_js": "Logowanie kluczem dostępu wymaga JavaScriptu w tej przeglądarce.",
        "passkey_added": "Klucz dostępu jest gotowy: przy następnym logowaniu można go użyć.",
        "passkey_renamed": "Nazwa klucza dostępu została zmieniona.",
        "passkey_removed": "Klucz dostępu został usunięty. Pozostałe sesje zostały wylogowane.",
        "passkey_last": (
            "To ostatni sposób logowania do konta. Najpierw ustaw hasło lub utwórz inny "
            "klucz dostępu."
        ),
        "passkey_offer_title": "Następnym razem szybciej",
        "passkey_offer_intro": (
            "Utwórz klucz dostępu: następne logowanie odciskiem palca, twarzą lub blokadą "
            "ekranu, bez wpisywania i zapamiętywania hasła."
        ),
        "passkey_not_now": "Nie teraz",
        "passkey_reauth": (
            "Zaloguj się ponownie kluczem dostępu, aby zmienić adres lub usunąć konto"
        ),
        "passkey_register_title": "Zakładanie konta z kluczem dostępu",
        "passkey_register_intro": (
            "Bez hasła: konto chroni blokada ekranu urządzenia. Wyślemy e-mailem link i kod "
            "do potwierdzenia adresu."
        ),
        "passkey_register_link": "Załóż konto z kluczem dostępu zamiast hasła",
        "passkey_register_done": (
            "Sprawdź skrzynkę: wysłaliśmy link i kod do potwierdzenia adresu. Potem można "
            "zalogować się kluczem dostępu."
        ),
        "email_code_link": "Wyślij kod logowania e-mailem",
        "email_code_title": "Logowanie kodem",
        "email_code_intro": (
            "Wyślemy e-mailem kod (i link), który jednorazowo pozwala się zalogować."
        ),
        "email_code_send": "Wyślij kod",
        "email_code_sent": (
            "Jeśli istnieje konto z tym adresem, wysłaliśmy na nie kod. Jest ważny {minutes} min."
        ),
        "email_code_enter": "Kod z wiadomości e-mail",
        "email_code_failed": "Kod jest nieprawidłowy lub stracił ważność. Poproś o nowy.",
        "email_code_confirm": "Zaloguj się",
        "email_code_subject": "Kod logowania",
        "email_code_body": (
            "Kod logowania: {code}.\n\nMożna też zalogować się, otwierając link:\n{link}\n\n"
            "Kod jest ważny {minutes} min i działa jeden raz. Jeśli nikt o niego nie prosił, "
            "wystarczy zignorować tę wiadomość: bez kodu nie da się zalogować.\n"
        ),
    },
}
