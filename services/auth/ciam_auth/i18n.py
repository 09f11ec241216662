"""The customer-facing text in Polish and English, and the choice of language per request."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ciam_auth.datarights.messages import DATA_RIGHTS
from ciam_auth.i18n_privacy import PRIVACY_MESSAGES

LOCALES = ("en", "pl")
DEFAULT_LOCALE = "en"

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "service": "Your account",
        "login_title": "Sign in",
        "email": "Email address",
        "password": "Password",
        "sign_in": "Sign in",
        "sign_in_with": "Sign in with {provider}",
        "login_failed": "The email address or password is not correct.",
        "not_verified": "Confirm your email address first: we have sent you a link and a code.",
        "throttled": "Too many attempts. Try again in {seconds} seconds.",
        "form_expired": "The form expired. Please try again.",
        "forgot": "Forgot your password?",
        "no_account": "Create an account",
        "totp_title": "Second step",
        "totp_intro": "Enter the 6-digit code from your authenticator app.",
        "totp_code": "Code",
        "recovery_intro": "No access to the app? Use one of your recovery codes instead.",
        "recovery_code": "Recovery code",
        "totp_failed": "The code is not correct.",
        "continue": "Continue",
        "account_title": "Your account",
        "signed_in_as": "Signed in as {email}",
        "sessions": "Where you are signed in",
        "device": "Device",
        "channel": "Channel",
        "last_seen": "Last active",
        "signed_in_at": "Signed in",
        "this_session": "this device",
        "end_session": "Sign out there",
        "sign_out": "Sign out",
        "session_ended": "The session has ended.",
        "register_title": "Create an account",
        "register": "Create account",
        "password_hint": "At least 8 characters. Long passphrases are welcome.",
        "check_mail": "Check your inbox: we have sent a link and a code to confirm the address.",
        "verify_title": "Confirm your email address",
        "verify_button": "Confirm",
        "code": "Code from the email",
        "verified": "Your email address is confirmed. You can sign in now.",
        "token_invalid": "This link or code is not valid any more. Request a new one.",
        "reset_title": "Reset your password",
        "reset_request": "Send me a link",
        "reset_sent": "If an account uses this address, we have sent it a link and a code.",
        "new_password": "New password",
        "set_password": "Set password",
        "reset_done": "Your password is changed. Every session was signed out.",
        "password_common": "This password is among the most common ones. Choose another.",
        "password_length": "A password has 8 to 128 characters.",
        "language": "Język polski",
        "security": "Security",
        "change_email": "Change email address",
        "invalid_email": "This is not a valid email address.",
        "new_email": "New email address",
        "email_change_sent": "We have sent a link and a code to the new address to confirm it.",
        "change_password": "Change password",
        "current_password": "Current password",
        "password_changed": "Your password is changed. Your other sessions were signed out.",
        "reauth_failed": "The password is not correct.",
        "totp_section": "Two-step verification",
        "totp_is_on": "On: signing in asks for a code from your authenticator app.",
        "totp_is_off": "Off: signing in asks only for your password.",
        "totp_set_up": "Set up two-step verification",
        "totp_setup_intro": (
            "Add this key to your authenticator app (or open the link on your phone), then "
            "enter the 6-digit code it shows."
        ),
        "totp_key": "Key",
        "totp_link": "Link for authenticator apps",
        "recovery_title": "Your recovery codes",
        "recovery_save": (
            "Keep these codes somewhere safe. Each one signs you in once if you lose your "
            "phone. They are shown only now."
        ),
        "totp_disable": "Turn off two-step verification",
        "totp_disabled": "Two-step verification is off.",
        "delete_title": "Delete account",
        "delete_warning": (
            "This deletes your account and signs you out everywhere. It cannot be undone."
        ),
        "delete_button": "Delete my account",
        "back_to_account": "Back to your account",
        "set_first_password": "Set a password",
        "set_password_intro": (
            "Your account signs in only with a linked account ({providers}). With a password "
            "you can also sign in with your email address, and unlink the last of them."
        ),
        "reauth_title": "Confirm it is you",
        "reauth_intro": (
            "Your account has no password. Before you set one, change your email address, turn "
            "off two-step verification or delete your account, sign in again with:"
        ),
        "reauth_with": "Sign in again with {provider}",
        "reauth_done": "Confirmed until {until}.",
        "reauth_needed": "Sign in again with a linked account first (see above).",
        "no_address_for_password": (
            "Add an email address first: you sign in with it and the password."
        ),
        "mail_social_link_subject": "Link {provider} to your account?",
        "mail_social_link_body": (
            "Hello,\n\nsomeone (hopefully you) signed in with {provider} using this address and "
            "asked to link it to your account. To link it, open this link in the same browser, "
            "within {minutes} minutes:\n{link}\n\nIf it was not you, ignore this message: "
            "nothing is linked.\n"
        ),
        "mail_social_takeover_subject": "You now sign in with {provider}",
        "mail_social_takeover_body": (
            "Hello,\n\nyou signed in with {provider}, which confirmed that {email} is yours. "
            "This address had been used to register an account with a password, and that "
            "registration was never confirmed. We removed it, with its password and its "
            "confirmation links, so nobody can sign in with that password. You now sign in "
            "with {provider}; to sign in with a password as well, set one in your account "
            "settings:\n{account}\n"
        ),
        # Emails
        "mail_verify_subject": "Confirm your email address",
        "mail_verify_body": (
            "Hello,\n\nplease confirm your email address by opening this link:\n{link}\n\n"
            "or by entering this code: {code}\n\nBoth are valid for {hours} hours. "
            "If you did not create an account, ignore this message.\n"
        ),
        "mail_reset_subject": "Reset your password",
        "mail_reset_body": (
            "Hello,\n\nsomeone (hopefully you) asked to reset the password of your account.\n"
            "Open this link to choose a new one:\n{link}\n\nor enter this code: {code}\n\n"
            "Both are valid for {minutes} minutes. If it was not you, ignore this message: "
            "your password stays as it is.\n"
        ),
        "mail_exists_subject": "Someone tried to create an account with your address",
        "mail_exists_body": (
            "Hello,\n\nsomeone (maybe you) tried to create an account with this address, but "
            "you already have one. Sign in here:\n{login}\n\nForgot your password? Reset it "
            "here:\n{reset}\n\nIf it was not you, you can ignore this message.\n"
        ),
        "mail_password_subject": "Your password was changed",
        "mail_password_body": (
            "Hello,\n\nthe password of your account was changed and your other sessions were "
            "signed out. If it was not you, reset your password now:\n{reset}\n"
        ),
        "mail_change_subject": "Confirm your new email address",
        "mail_email_changed_subject": "Your email address is being changed",
        "mail_email_changed_body": (
            "Hello,\n\nsomeone signed in to your account asked to change its email address. "
            "If it was not you, reset your password now:\n{reset}\n"
        ),
        # The design shared by every page (templates/layout.html) and its components.
        "device_on": "{browser} on {system}",
        "device_unknown_browser": "Unknown browser",
        "device_android_app": "Android app",
        "channel_web": "website",
        "channel_app": "app",
        "channel_mobile": "mobile app",
        "channel_api": "an app, directly",
        "last_seen_at": "Last active: {when}",
        "verify_code_intro": ("Enter the 6-digit code from the email, or open the link in it."),
        "resend_intro": "No email? Check the spam folder, or:",
        "resend_button": "Send the email again",
        "resent": (
            "If this address is waiting for confirmation, we have sent it a new link and code. "
            "The previous ones no longer work."
        ),
        "signed_out_title": "You are signed out",
        "signed_out_text": (
            "You have signed out on this device. Sessions on your other devices are not "
            "affected: end them on your account page."
        ),
        "sign_in_again": "Sign in again",
        "totp_scan": "Scan this QR code with your authenticator app:",
        "totp_qr_label": "QR code of the key, for authenticator apps",
        "totp_or_key": "No camera? Type the key instead:",
        "recovery_download": "Download the codes (.txt)",
        "recovery_done": "I have saved my codes",
        "recovery_file_intro": (
            "Recovery codes for your account ({email}). Each one works once, instead of "
            "the code from your authenticator app."
        ),
        # The privacy page (privacy/).
        "privacy_title": "Privacy and consents",
        "privacy_intro": (
            "Here you decide what your data may be used for. A change applies at once in "
            "every app and channel."
        ),
        "privacy_group_communication": "Communication",
        "privacy_group_personalisation": "Personalisation and analytics",
        "privacy_group_sharing": "Sharing",
        "privacy_group_imported": "Imported data",
        "privacy_group_other": "Needed to provide the service",
        "privacy_state": "Your choice",
        "privacy_state_granted": "Consent given",
        "privacy_state_withdrawn": "Consent withdrawn",
        "privacy_state_denied": "Consent refused",
        "privacy_state_expired": "Consent expired",
        "privacy_state_needs_reconsent": "The notice changed: decide again",
        "privacy_state_never": "No decision yet",
        "privacy_basis": "Legal basis",
        "privacy_basis_consent": "Your consent: you can withdraw it at any time.",
        "privacy_basis_contract": (
            "Needed to carry out our contract with you (for example your orders)."
        ),
        "privacy_basis_legitimateinterest": "Our legitimate interest.",
        "privacy_basis_legalobligation": "A legal obligation.",
        "privacy_basis_vitalinterest": "Protecting someone's vital interests.",
        "privacy_basis_publicinterest": "A task in the public interest.",
        "privacy_data": "Data used",
        "privacy_data_identity": "identity (name, email address)",
        "privacy_data_descriptive": "descriptive data (for example age, place)",
        "privacy_data_attitudinal": "preferences and interests",
        "privacy_data_behavioural": "activity (visits, purchases, app use)",
        "privacy_changed": "Last changed",
        "privacy_by_page": "on this privacy page",
        "privacy_by_app": "in {app}",
        "privacy_by_web": "on a website",
        "privacy_by_app_channel": "in an app",
        "privacy_by_api": "by an app",
        "privacy_by_gpc": "by your browser's Global Privacy Control signal",
        "privacy_by_import": "by a data import",
        "privacy_by_system": "automatically (expiry or a new notice)",
        "privacy_grant": "Give consent",
        "privacy_withdraw": "Withdraw consent",
        "privacy_no_control": (
            "This does not rest on consent, so there is nothing to give or withdraw here."
        ),
        "privacy_granted": "Consent given. Every app and channel is being told.",
        "privacy_withdrawn": "Consent withdrawn. Every app and channel is being told.",
        "privacy_unavailable": (
            "Your consents cannot be shown or changed right now: the consent service is not "
            "available. Nothing was changed. Please try again in a moment."
        ),
        "privacy_refused": "This change cannot be made. Load the page again.",
        "privacy_import_hint": (
            "You choose what to import, field by field, when you sign in with a social account."
        ),
        # A purpose's channels; for imports, the imported fields (social/fields.py).
        "privacy_channel_email": "email",
        "privacy_channel_sms": "SMS",
        "privacy_channel_web": "websites",
        "privacy_channel_app": "apps",
        "privacy_channel_ads": "advertising",
        "privacy_channel_name": "name",
        "privacy_channel_picture": "picture",
        "privacy_channel_locale": "language",
        "privacy_channel_birthday": "birthday",
    },
    "pl": {
        "service": "Twoje konto",
        "login_title": "Logowanie",
        "email": "Adres e-mail",
        "password": "Hasło",
        "sign_in": "Zaloguj się",
        "sign_in_with": "Zaloguj przez {provider}",
        "login_failed": "Adres e-mail lub hasło są nieprawidłowe.",
        "not_verified": "Najpierw potwierdź adres e-mail: wysłaliśmy Ci link i kod.",
        "throttled": "Zbyt wiele prób. Spróbuj ponownie za {seconds} s.",
        "form_expired": "Formularz wygasł. Spróbuj ponownie.",
        "forgot": "Nie pamiętasz hasła?",
        "no_account": "Załóż konto",
        "totp_title": "Drugi krok",
        "totp_intro": "Wpisz 6-cyfrowy kod z aplikacji uwierzytelniającej.",
        "totp_code": "Kod",
        "recovery_intro": "Nie masz dostępu do aplikacji? Użyj jednego z kodów odzyskiwania.",
        "recovery_code": "Kod odzyskiwania",
        "totp_failed": "Kod jest nieprawidłowy.",
        "continue": "Dalej",
        "account_title": "Twoje konto",
        "signed_in_as": "Zalogowano jako {email}",
        "sessions": "Urządzenia z aktywnym logowaniem",
        "device": "Urządzenie",
        "channel": "Kanał",
        "last_seen": "Ostatnia aktywność",
        "signed_in_at": "Zalogowano",
        "this_session": "to urządzenie",
        "end_session": "Wyloguj tam",
        "sign_out": "Wyloguj się",
        "session_ended": "Sesja została zakończona.",
        "register_title": "Załóż konto",
        "register": "Utwórz konto",
        "password_hint": "Co najmniej 8 znaków. Długie hasła-zdania są mile widziane.",
        "check_mail": "Sprawdź skrzynkę: wysłaliśmy link i kod do potwierdzenia adresu.",
        "verify_title": "Potwierdź adres e-mail",
        "verify_button": "Potwierdź",
        "code": "Kod z wiadomości",
        "verified": "Adres e-mail jest potwierdzony. Możesz się zalogować.",
        "token_invalid": "Ten link lub kod jest już nieważny. Poproś o nowy.",
        "reset_title": "Zmiana hasła",
        "reset_request": "Wyślij mi link",
        "reset_sent": "Jeśli ten adres należy do konta, wysłaliśmy na niego link i kod.",
        "new_password": "Nowe hasło",
        "set_password": "Ustaw hasło",
        "reset_done": "Hasło zostało zmienione. Wszystkie sesje zostały wylogowane.",
        "password_common": "To hasło jest jednym z najczęściej używanych. Wybierz inne.",
        "password_length": "Hasło ma od 8 do 128 znaków.",
        "language": "English",
        "security": "Bezpieczeństwo",
        "change_email": "Zmień adres e-mail",
        "invalid_email": "To nie jest prawidłowy adres e-mail.",
        "new_email": "Nowy adres e-mail",
        "email_change_sent": "Wysłaliśmy link i kod na nowy adres, aby go potwierdzić.",
        "change_password": "Zmień hasło",
        "current_password": "Obecne hasło",
        "password_changed": "Hasło zostało zmienione. Pozostałe sesje zostały wylogowane.",
        "reauth_failed": "Hasło jest nieprawidłowe.",
        "totp_section": "Weryfikacja dwuetapowa",
        "totp_is_on": "Włączona: logowanie wymaga kodu z aplikacji uwierzytelniającej.",
        "totp_is_off": "Wyłączona: logowanie wymaga tylko hasła.",
        "totp_set_up": "Włącz weryfikację dwuetapową",
        "totp_setup_intro": (
            "Dodaj ten klucz do aplikacji uwierzytelniającej (albo otwórz link w telefonie), "
            "a potem wpisz 6-cyfrowy kod, który pokaże."
        ),
        "totp_key": "Klucz",
        "totp_link": "Link dla aplikacji uwierzytelniających",
        "recovery_title": "Twoje kody odzyskiwania",
        "recovery_save": (
            "Zachowaj te kody w bezpiecznym miejscu. Każdy z nich pozwala zalogować się raz, "
            "gdy zgubisz telefon. Pokazujemy je tylko teraz."
        ),
        "totp_disable": "Wyłącz weryfikację dwuetapową",
        "totp_disabled": "Weryfikacja dwuetapowa jest wyłączona.",
        "delete_title": "Usuń konto",
        "delete_warning": ("To usunie Twoje konto i wyloguje Cię wszędzie. Tego nie można cofnąć."),
        "delete_button": "Usuń moje konto",
        "back_to_account": "Wróć do konta",
        "set_first_password": "Ustaw hasło",
        "set_password_intro": (
            "Logujesz się tylko przez połączone konto ({providers}). Z hasłem możesz logować się "
            "też adresem e-mail i odłączyć ostatnie z nich."
        ),
        "reauth_title": "Potwierdź, że to Ty",
        "reauth_intro": (
            "Twoje konto nie ma hasła. Zanim je ustawisz, zmienisz adres e-mail, wyłączysz "
            "weryfikację dwuetapową lub usuniesz konto, zaloguj się ponownie przez:"
        ),
        "reauth_with": "Zaloguj się ponownie przez {provider}",
        "reauth_done": "Potwierdzone do {until}.",
        "reauth_needed": "Najpierw zaloguj się ponownie przez połączone konto (powyżej).",
        "no_address_for_password": "Najpierw dodaj adres e-mail: logujesz się nim i hasłem.",
        "mail_social_link_subject": "Połączyć {provider} z Twoim kontem?",
        "mail_social_link_body": (
            "Dzień dobry,\n\nktoś (mamy nadzieję, że Ty) zalogował się przez {provider} tym "
            "adresem i poprosił o połączenie go z Twoim kontem. Aby je połączyć, otwórz ten link "
            "w tej samej przeglądarce w ciągu {minutes} minut:\n{link}\n\nJeśli to nie Ty, "
            "zignoruj tę wiadomość: nic nie zostanie połączone.\n"
        ),
        "mail_social_takeover_subject": "Logujesz się teraz przez {provider}",
        "mail_social_takeover_body": (
            "Dzień dobry,\n\nzalogowano się przez {provider}, który potwierdził, że adres "
            "{email} należy do Ciebie. Tego adresu użyto wcześniej do rejestracji konta "
            "z hasłem, której nigdy nie potwierdzono. Usunęliśmy tę rejestrację razem z jej "
            "hasłem i linkami potwierdzającymi, więc tym hasłem nie można się zalogować. Teraz "
            "logujesz się przez {provider}; aby logować się także hasłem, ustaw je "
            "w ustawieniach konta:\n{account}\n"
        ),
        "mail_verify_subject": "Potwierdź adres e-mail",
        "mail_verify_body": (
            "Dzień dobry,\n\npotwierdź swój adres e-mail, otwierając ten link:\n{link}\n\n"
            "lub wpisując kod: {code}\n\nLink i kod są ważne przez {hours} godz. Jeśli to nie "
            "Ty zakładasz konto, zignoruj tę wiadomość.\n"
        ),
        "mail_reset_subject": "Zmiana hasła",
        "mail_reset_body": (
            "Dzień dobry,\n\nktoś (mamy nadzieję, że Ty) poprosił o zmianę hasła do Twojego "
            "konta. Otwórz ten link, aby ustawić nowe:\n{link}\n\nlub wpisz kod: {code}\n\n"
            "Link i kod są ważne przez {minutes} min. Jeśli to nie Ty, zignoruj tę wiadomość: "
            "hasło się nie zmieni.\n"
        ),
        "mail_exists_subject": "Ktoś próbował założyć konto na Twój adres",
        "mail_exists_body": (
            "Dzień dobry,\n\nktoś (może Ty) próbował założyć konto z tym adresem, ale masz już "
            "konto. Zaloguj się tutaj:\n{login}\n\nNie pamiętasz hasła? Zmień je tutaj:\n"
            "{reset}\n\nJeśli to nie Ty, możesz zignorować tę wiadomość.\n"
        ),
        "mail_password_subject": "Hasło zostało zmienione",
        "mail_password_body": (
            "Dzień dobry,\n\nhasło do Twojego konta zostało zmienione, a pozostałe sesje "
            "wylogowane. Jeśli to nie Ty, zmień hasło teraz:\n{reset}\n"
        ),
        "mail_change_subject": "Potwierdź nowy adres e-mail",
        "mail_email_changed_subject": "Adres e-mail Twojego konta jest zmieniany",
        "mail_email_changed_body": (
            "Dzień dobry,\n\nw Twoim koncie poproszono o zmianę adresu e-mail. "
            "Jeśli to nie Ty, zmień hasło teraz:\n{reset}\n"
        ),
        "device_on": "{browser}, {system}",
        "device_unknown_browser": "Nieznana przeglądarka",
        "device_android_app": "Aplikacja na Androida",
        "channel_web": "strona internetowa",
        "channel_app": "aplikacja",
        "channel_mobile": "aplikacja mobilna",
        "channel_api": "bezpośrednio przez aplikację",
        "last_seen_at": "Ostatnia aktywność: {when}",
        "verify_code_intro": "Wpisz 6-cyfrowy kod z wiadomości albo otwórz zawarty w niej link.",
        "resend_intro": "Nie ma wiadomości? Sprawdź folder spam albo:",
        "resend_button": "Wyślij wiadomość ponownie",
        "resent": (
            "Jeśli ten adres czeka na potwierdzenie, wysłaliśmy na niego nowy link i kod. "
            "Poprzednie już nie działają."
        ),
        "signed_out_title": "Wylogowano",
        "signed_out_text": (
            "Wylogowano Cię na tym urządzeniu. Sesje na innych urządzeniach trwają dalej: "
            "możesz je zakończyć na stronie konta."
        ),
        "sign_in_again": "Zaloguj się ponownie",
        "totp_scan": "Zeskanuj ten kod QR aplikacją uwierzytelniającą:",
        "totp_qr_label": "Kod QR z kluczem dla aplikacji uwierzytelniających",
        "totp_or_key": "Bez aparatu? Wpisz klucz ręcznie:",
        "recovery_download": "Pobierz kody (.txt)",
        "recovery_done": "Kody są zapisane",
        "recovery_file_intro": (
            "Kody odzyskiwania do Twojego konta ({email}). Każdy działa raz, zamiast kodu "
            "z aplikacji uwierzytelniającej."
        ),
        # The privacy page (privacy/).
        "privacy_title": "Prywatność i zgody",
        "privacy_intro": (
            "Tutaj decydujesz, do czego mogą być wykorzystywane Twoje dane. Zmiana obowiązuje "
            "od razu we wszystkich aplikacjach i kanałach."
        ),
        "privacy_group_communication": "Komunikacja",
        "privacy_group_personalisation": "Personalizacja i analityka",
        "privacy_group_sharing": "Udostępnianie danych",
        "privacy_group_imported": "Dane importowane",
        "privacy_group_other": "Niezbędne do świadczenia usługi",
        "privacy_state": "Twój wybór",
        "privacy_state_granted": "Zgoda udzielona",
        "privacy_state_withdrawn": "Zgoda wycofana",
        "privacy_state_denied": "Brak zgody",
        "privacy_state_expired": "Zgoda wygasła",
        "privacy_state_needs_reconsent": "Informacja się zmieniła: zdecyduj ponownie",
        "privacy_state_never": "Brak decyzji",
        "privacy_basis": "Podstawa prawna",
        "privacy_basis_consent": "Twoja zgoda: możesz ją wycofać w każdej chwili.",
        "privacy_basis_contract": (
            "Niezbędne do wykonania umowy z Tobą (na przykład Twoich zamówień)."
        ),
        "privacy_basis_legitimateinterest": "Nasz prawnie uzasadniony interes.",
        "privacy_basis_legalobligation": "Obowiązek prawny.",
        "privacy_basis_vitalinterest": "Ochrona czyichś żywotnych interesów.",
        "privacy_basis_publicinterest": "Zadanie realizowane w interesie publicznym.",
        "privacy_data": "Wykorzystywane dane",
        "privacy_data_identity": "dane identyfikacyjne (imię, adres e-mail)",
        "privacy_data_descriptive": "dane opisowe (na przykład wiek, miejsce)",
        "privacy_data_attitudinal": "preferencje i zainteresowania",
        "privacy_data_behavioural": "aktywność (wizyty, zakupy, korzystanie z aplikacji)",
        "privacy_changed": "Ostatnia zmiana",
        "privacy_by_page": "na tej stronie prywatności",
        "privacy_by_app": "w aplikacji {app}",
        "privacy_by_web": "w serwisie internetowym",
        "privacy_by_app_channel": "w aplikacji",
        "privacy_by_api": "przez aplikację",
        "privacy_by_gpc": "sygnałem Global Privacy Control z przeglądarki",
        "privacy_by_import": "przez import danych",
        "privacy_by_system": "automatycznie (wygaśnięcie lub nowa informacja)",
        "privacy_grant": "Udziel zgody",
        "privacy_withdraw": "Wycofaj zgodę",
        "privacy_no_control": (
            "To nie opiera się na zgodzie, więc nie ma tu czego udzielać ani wycofywać."
        ),
        "privacy_granted": (
            "Zgoda została udzielona. Wszystkie aplikacje i kanały są o tym powiadamiane."
        ),
        "privacy_withdrawn": (
            "Zgoda została wycofana. Wszystkie aplikacje i kanały są o tym powiadamiane."
        ),
        "privacy_unavailable": (
            "Nie można teraz wyświetlić ani zmienić Twoich zgód: usługa zgód jest "
            "niedostępna. Nic nie zostało zmienione. Spróbuj ponownie za chwilę."
        ),
        "privacy_refused": "Tej zmiany nie można wprowadzić. Wczytaj stronę ponownie.",
        "privacy_import_hint": (
            "Pola do importu wybiera się przy logowaniu przez konto w serwisie społecznościowym."
        ),
        "privacy_channel_email": "e-mail",
        "privacy_channel_sms": "SMS",
        "privacy_channel_web": "strony internetowe",
        "privacy_channel_app": "aplikacje",
        "privacy_channel_ads": "reklamy",
        "privacy_channel_name": "imię i nazwisko",
        "privacy_channel_picture": "zdjęcie",
        "privacy_channel_locale": "język",
        "privacy_channel_birthday": "data urodzenia",
    },
}

# The data-rights pages' texts (datarights/messages.py) and the privacy centre's
# (i18n_privacy.py) live in their own modules, edited without touching each other.
MESSAGES = {
    locale: {**MESSAGES[locale], **DATA_RIGHTS[locale], **PRIVACY_MESSAGES[locale]}
    for locale in LOCALES
}


def text(locale: str, key: str, **values: object) -> str:
    catalogue = MESSAGES.get(locale, MESSAGES[DEFAULT_LOCALE])
    message = catalogue.get(key) or MESSAGES[DEFAULT_LOCALE].get(key) or _more(locale, key)
    return message.format(**values) if values else message


_DEVICE = re.compile(r"^(?P<browser>.+) on (?P<system>[^ ]+)$")


def file_size(locale: str, size: int) -> str:
    """A download's size as a customer reads it: "8.1 KB" in English, "8,1 KB" in Polish
    (decimal comma), 1 KB = 1,024 bytes, whole bytes below that."""
    if size < 1024:
        return f"{size} B"
    value, unit = size / 1024, "KB"
    for larger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    number = f"{value:.1f}"
    return f"{number.replace('.', ',') if locale == 'pl' else number} {unit}"


def device_name(locale: str, label: str) -> str:
    """A session's device label (web.device_label, stored in English: "Firefox on Linux") in
    the page's language; browser and system names are proper names and stay."""
    if label == "Unknown browser":
        return text(locale, "device_unknown_browser")
    if label == "Android app":
        return text(locale, "device_android_app")
    if found := _DEVICE.match(label):
        browser = found["browser"]
        if browser == "Unknown browser":
            browser = text(locale, "device_unknown_browser")
        return text(locale, "device_on", browser=browser, system=found["system"])
    return label


def channel_name(locale: str, channel: str) -> str:
    """A session's channel in the page's language; a channel an app named itself stays."""
    key = f"channel_{channel}"
    return text(locale, key) if key in MESSAGES[DEFAULT_LOCALE] else channel


def _more(locale: str, key: str) -> str:
    """The texts a capability keeps in its own module (passkeys/texts.py), same rules."""
    from ciam_auth.passkeys.texts import MESSAGES as PASSKEYS

    return PASSKEYS.get(locale, PASSKEYS[DEFAULT_LOCALE]).get(key) or PASSKEYS[DEFAULT_LOCALE][key]


def choose_locale(ui_locales: str | None, accept_language: str | None) -> str:
    """`ui_locales` (OIDC: space-separated, in order of preference) wins over Accept-Language."""
    for tag in (ui_locales or "").split():
        if (base := tag.split("-")[0].lower()) in LOCALES:
            return base
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if (base := tag.split("-")[0].lower()) in LOCALES and quality > 0:
            ranked.append((-quality, position, base))
    return sorted(ranked)[0][2] if ranked else DEFAULT_LOCALE
