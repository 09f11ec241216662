"""The privacy centre's texts beyond the first page (issue 14): double opt-in, re-consent,
GPC, history and receipts, connected apps, the propagation proof. Merged into
`i18n.MESSAGES`; kept apart so the privacy centre's texts do not crowd the main catalogue."""

from __future__ import annotations

from collections.abc import Mapping

PRIVACY_MESSAGES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "privacy_purpose_email-marketing": "offers by email",
        "privacy_purpose_sms-marketing": "offers by SMS",
        "privacy_controls": "Per channel and brand",
        "privacy_optin_hint": (
            "We will send a confirmation link to your email address: the consent is given "
            "once you use it."
        ),
        "privacy_optin_sent": (
            "We have sent a confirmation link to your email address. The consent is given "
            "once you use it."
        ),
        "privacy_optin_pending": "Waiting for you to use the link we emailed.",
        "privacy_optin_no_address": (
            "Your account has no confirmed email address to send the confirmation link to."
        ),
        "privacy_optin_title": "Confirm your consent",
        "privacy_signin_title": "Sign in to see your privacy settings",
        "privacy_signin_intro": (
            "Signing in opens in a new window. Once you have signed in there, show your "
            "settings here, or open them in a new window if this page still asks you to sign in."
        ),
        "privacy_signin_open": "Sign in (new window)",
        "privacy_signin_again": "Show my settings",
        "privacy_signin_window": "Open my settings in a new window",
        # A brand app's frame on another site (embedding.py).
        "privacy_signin_frame_intro": (
            "Sign in to see and change your privacy settings here. You can also open them "
            "in a new window."
        ),
        "privacy_signin_here": "Sign in",
        "embed_other_ways": ("A passkey, a code by email and other accounts work in a new window."),
        "embed_other_ways_open": "Open the sign-in in a new window",
        "embed_blocked_title": "This browser keeps no sign-in in this frame",
        "embed_blocked_intro": (
            "Your browser does not let this frame keep you signed in (it blocks the cookies "
            "of other sites here), so your privacy settings cannot be shown in it. Open them "
            "in a new window: everything works there."
        ),
        "embed_blocked_open": "Open my privacy settings in a new window",
        "privacy_optin_ask": "Confirm that you want to receive {purpose}.",
        "privacy_optin_button": "Confirm",
        "privacy_optin_confirmed": "Thank you: your consent is recorded.",
        "privacy_optin_link_refused": (
            "This link cannot be used: it has expired, has been used already or is not "
            "complete. Give the consent again on the privacy page to get a new one."
        ),
        "privacy_optin_mail_subject": "Confirm your consent",
        "privacy_optin_mail_body": (
            "You asked to receive {purpose}. To confirm, open this link within 24 hours:\n\n"
            "{link}\n\nIf it was not you, ignore this message: nothing changes without the "
            "confirmation."
        ),
        "privacy_reconsent_title": "Information that has changed",
        "privacy_reconsent_versions": (
            "You agreed to version {agreed} of this information; it is now version {current}. "
            "Your consent is paused until you decide again."
        ),
        "privacy_reconsent_before": "Before",
        "privacy_reconsent_now": "Now",
        "privacy_reconsent_accept": "Give consent to the new version",
        "privacy_gpc_intro": (
            "Your browser sends the Global Privacy Control signal. We honour it: selling or "
            "sharing your data stays off while it is on."
        ),
        "privacy_gpc_honoured": "Off because of your browser's Global Privacy Control signal.",
        "privacy_live_recorded": "Change recorded. Waiting for the apps to confirm it.",
        "privacy_live_none": "No change recorded yet.",
        "privacy_live_pending": "Confirmed by: {confirmed}. Still waiting for: {pending}.",
        "privacy_live_waiting": "Recorded. Waiting for: {pending}.",
        "privacy_live_done": "Every app has confirmed the change: {confirmed}.",
        "privacy_propagation_link": "Which apps have confirmed the change",
        "privacy_propagation_title": "Which apps have confirmed the change",
        "privacy_propagation_who": "App or service",
        "privacy_propagation_state": "Confirmation",
        "privacy_propagation_applied": "applied",
        "privacy_propagation_waiting": "not yet",
        "privacy_history_title": "History of your consents",
        "privacy_history_intro": (
            "Every change, oldest first. Each has a receipt signed by us that you can keep."
        ),
        "privacy_history_when": "When",
        "privacy_history_what": "Change",
        "privacy_history_empty": "No change recorded yet.",
        "privacy_chain_intact": (
            "The record is complete: the {count} changes are linked and none has been altered."
        ),
        "privacy_chain_broken": (
            "The record does not hold together from change {version} on. Please contact us."
        ),
        "privacy_receipt": "Receipt",
        "privacy_receipt_view": "View",
        "privacy_receipt_download": "Download (JWS)",
        "privacy_receipt_title": "Consent receipt",
        "privacy_receipt_missing": "There is no such receipt among your changes.",
        "privacy_receipt_signature_ok": (
            "The signature is valid: this receipt is ours and unchanged."
        ),
        "privacy_receipt_signature_bad": "The signature does not match our published key.",
        "privacy_receipt_id": "Receipt number",
        "privacy_receipt_purpose": "Purpose",
        "privacy_receipt_when": "When",
        "privacy_receipt_method": "How it was collected",
        "privacy_receipt_notice": "Information version",
        "privacy_receipt_controller": "Controller",
        "privacy_receipt_chain": "Record link (SHA-256)",
        "privacy_apps_title": "Connected apps",
        "privacy_apps_intro": (
            "Apps you signed in to or allowed to access your account. Disconnecting one signs "
            "it out and it will ask for your permission again."
        ),
        "privacy_apps_none": "No app is connected to your account.",
        "privacy_app_allowed": "Allowed",
        "privacy_app_signed_in": "Last signed in",
        "privacy_app_may": "What it may do",
        "privacy_app_purposes": "Purposes it uses",
        "privacy_app_nothing": "nothing",
        "privacy_app_revoke": "Disconnect",
        "privacy_app_revoked": "The app is disconnected: it has been signed out.",
    },
    "pl": {
        "privacy_purpose_email-marketing": "oferty e-mailem",
        "privacy_purpose_sms-marketing": "oferty SMS-em",
        "privacy_controls": "Według kanału i marki",
        "privacy_optin_hint": (
            "Wyślemy link potwierdzający na Twój adres e-mail: zgoda zacznie obowiązywać po "
            "jego użyciu."
        ),
        "privacy_optin_sent": (
            "Link potwierdzający jest w drodze na Twój adres e-mail. Zgoda zacznie obowiązywać "
            "po jego użyciu."
        ),
        "privacy_optin_pending": "Czekamy na użycie linku z wiadomości e-mail.",
        "privacy_optin_no_address": (
            "Do konta nie jest przypisany potwierdzony adres e-mail, na który można wysłać link."
        ),
        "privacy_optin_title": "Potwierdzenie zgody",
        "privacy_signin_title": "Logowanie do ustawień prywatności",
        "privacy_signin_intro": (
            "Logowanie otworzy się w nowym oknie. Po zalogowaniu się tam wyświetl tutaj "
            "swoje ustawienia albo otwórz je w nowym oknie, jeśli ta strona nadal prosi "
            "o zalogowanie."
        ),
        "privacy_signin_open": "Zaloguj się (nowe okno)",
        "privacy_signin_again": "Pokaż moje ustawienia",
        "privacy_signin_window": "Otwórz moje ustawienia w nowym oknie",
        "privacy_signin_frame_intro": (
            "Zaloguj się, aby zobaczyć i zmienić tutaj ustawienia prywatności. Można je też "
            "otworzyć w nowym oknie."
        ),
        "privacy_signin_here": "Zaloguj się",
        "embed_other_ways": (
            "Klucz dostępu, kod wysłany e-mailem i inne konta działają w nowym oknie."
        ),
        "embed_other_ways_open": "Otwórz logowanie w nowym oknie",
        "embed_blocked_title": "Ta przeglądarka nie zachowuje logowania w tej ramce",
        "embed_blocked_intro": (
            "Przeglądarka nie pozwala tej ramce zachować logowania (blokuje tu pliki cookie "
            "innych witryn), więc nie można w niej wyświetlić ustawień prywatności. Otwórz je "
            "w nowym oknie: tam wszystko działa."
        ),
        "embed_blocked_open": "Otwórz ustawienia prywatności w nowym oknie",
        "privacy_optin_ask": "Potwierdź, że chcesz otrzymywać {purpose}.",
        "privacy_optin_button": "Potwierdzam",
        "privacy_optin_confirmed": "Dziękujemy: zgoda jest zapisana.",
        "privacy_optin_link_refused": (
            "Tego linku nie można użyć: wygasł, został już użyty lub jest niepełny. Aby "
            "otrzymać nowy, udziel zgody ponownie na stronie prywatności."
        ),
        "privacy_optin_mail_subject": "Potwierdzenie zgody",
        "privacy_optin_mail_body": (
            "Otrzymaliśmy prośbę o wysyłanie: {purpose}. Aby ją potwierdzić, otwórz ten link "
            "w ciągu 24 godzin:\n\n{link}\n\nJeśli to nie Ty, zignoruj tę wiadomość: bez "
            "potwierdzenia nic się nie zmieni."
        ),
        "privacy_reconsent_title": "Zmienione informacje",
        "privacy_reconsent_versions": (
            "Zgoda dotyczyła wersji {agreed} tych informacji; obecna to wersja {current}. Do "
            "czasu ponownej decyzji zgoda jest wstrzymana."
        ),
        "privacy_reconsent_before": "Wcześniej",
        "privacy_reconsent_now": "Teraz",
        "privacy_reconsent_accept": "Udziel zgody na nową wersję",
        "privacy_gpc_intro": (
            "Twoja przeglądarka wysyła sygnał Global Privacy Control. Respektujemy go: dopóki "
            "jest włączony, nie sprzedajemy ani nie udostępniamy Twoich danych."
        ),
        "privacy_gpc_honoured": (
            "Wyłączone ze względu na sygnał Global Privacy Control Twojej przeglądarki."
        ),
        "privacy_live_recorded": "Zmiana zapisana. Czekamy na potwierdzenie od aplikacji.",
        "privacy_live_none": "Nie zapisano jeszcze żadnej zmiany.",
        "privacy_live_pending": "Potwierdzenia: {confirmed}. Nadal czekamy na: {pending}.",
        "privacy_live_waiting": "Zapisano. Czekamy na: {pending}.",
        "privacy_live_done": "Wszystkie aplikacje potwierdziły zmianę: {confirmed}.",
        "privacy_propagation_link": "Które aplikacje potwierdziły zmianę",
        "privacy_propagation_title": "Które aplikacje potwierdziły zmianę",
        "privacy_propagation_who": "Aplikacja lub usługa",
        "privacy_propagation_state": "Potwierdzenie",
        "privacy_propagation_applied": "zastosowano",
        "privacy_propagation_waiting": "jeszcze nie",
        "privacy_history_title": "Historia zgód",
        "privacy_history_intro": (
            "Każda zmiana, od najstarszej. Do każdej jest podpisane przez nas potwierdzenie, "
            "które można zachować."
        ),
        "privacy_history_when": "Kiedy",
        "privacy_history_what": "Zmiana",
        "privacy_history_empty": "Nie zapisano jeszcze żadnej zmiany.",
        "privacy_chain_intact": (
            "Zapis jest kompletny: zmiany ({count}) są ze sobą powiązane i żadna nie została "
            "zmieniona."
        ),
        "privacy_chain_broken": ("Zapis nie jest spójny od zmiany {version}. Prosimy o kontakt."),
        "privacy_receipt": "Potwierdzenie",
        "privacy_receipt_view": "Pokaż",
        "privacy_receipt_download": "Pobierz (JWS)",
        "privacy_receipt_title": "Potwierdzenie zgody",
        "privacy_receipt_missing": "Wśród Twoich zmian nie ma takiego potwierdzenia.",
        "privacy_receipt_signature_ok": (
            "Podpis jest prawidłowy: to potwierdzenie pochodzi od nas i nie zostało zmienione."
        ),
        "privacy_receipt_signature_bad": "Podpis nie zgadza się z naszym opublikowanym kluczem.",
        "privacy_receipt_id": "Numer potwierdzenia",
        "privacy_receipt_purpose": "Cel",
        "privacy_receipt_when": "Kiedy",
        "privacy_receipt_method": "Sposób zebrania",
        "privacy_receipt_notice": "Wersja informacji",
        "privacy_receipt_controller": "Administrator danych",
        "privacy_receipt_chain": "Powiązanie zapisu (SHA-256)",
        "privacy_apps_title": "Połączone aplikacje",
        "privacy_apps_intro": (
            "Aplikacje, w których nastąpiło logowanie na to konto lub którym udzielono dostępu. "
            "Odłączenie aplikacji kończy jej dostęp, a przy następnym logowaniu poprosi ona "
            "ponownie o zgodę."
        ),
        "privacy_apps_none": "Żadna aplikacja nie jest połączona z kontem.",
        "privacy_app_allowed": "Dostęp udzielony",
        "privacy_app_signed_in": "Ostatnie logowanie",
        "privacy_app_may": "Co może robić",
        "privacy_app_purposes": "Cele, w jakich przetwarza dane",
        "privacy_app_nothing": "nic",
        "privacy_app_revoke": "Odłącz",
        "privacy_app_revoked": "Aplikacja jest odłączona: jej dostęp został zakończony.",
    },
}
