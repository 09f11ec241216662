"""The data-rights texts (export, deletion, their mails and the archive's summary page), in
English and Polish (neutral phrasing), merged into the catalogue by `ciam_auth.i18n`."""

from __future__ import annotations

DATA_RIGHTS: dict[str, dict[str, str]] = {
    "en": {
        "export_title": "Download my data",
        "export_intro": (
            "Get a copy of everything we hold about you: your account, consents with their "
            "history and receipts, your profile, and the messages and notifications about you."
        ),
        "export_how": (
            "Each part of the system adds its share. You can follow the progress here, and we "
            "also email you when the archive is ready. It can be downloaded for {days} days."
        ),
        "export_request": "Request a copy of my data",
        "export_recent": "Your requests",
        "export_status_collecting": "Being prepared",
        "export_status_ready": "Ready to download",
        "export_status_failed": "Could not be completed",
        "export_status_expired": "No longer available",
        "export_requested_at": "Requested on {at}.",
        "export_services": "Parts of the system",
        "export_service": "Part",
        "export_state": "State",
        "export_step_answered": "Sent its data",
        "export_step_pending": "Waiting",
        "export_step_failed": "Did not send its data",
        "export_detail_no-answer": "no answer in time",
        "export_detail_too_large": "too much data for one answer",
        "export_detail_failed": "an error",
        "export_waiting": (
            "This page refreshes by itself. Parts that have not answered by {at} are marked "
            "as failed."
        ),
        "export_download": "Download the archive (ZIP)",
        "export_until": "Available until {at}. Then it is removed.",
        "export_failed": (
            "Not every part of the system sent its data, so no incomplete archive was made. "
            "Please request a new copy."
        ),
        "export_not_found": "This request does not exist or belongs to another account.",
        "export_not_ready": "The archive is not ready yet.",
        "export_gone": "This archive is no longer available. Please request a new copy.",
        "export_service_auth": "Account and sign-in",
        "export_service_consent": "Consents",
        "export_service_profile": "Profile",
        "export_service_notifier": "Messages and notifications",
        "export_service_auth_about": (
            "Your account, sessions and devices, linked sign-in services, and the apps you "
            "allowed. Passwords and secret keys are never included."
        ),
        "export_service_consent_about": (
            "Your current consents and every change, each with its signed receipt."
        ),
        "export_service_profile_about": (
            "Your profile: details, identifiers, linked devices and tracked events."
        ),
        "export_service_notifier_about": (
            "Messages sent to you, notifications to apps about you, and your opt-outs."
        ),
        "export_summary_title": "Your data",
        "export_summary_intro": (
            "Copy of the data about account {subject}, requested on {requested}, made on {made}."
        ),
        "export_summary_rights": (
            "Each part of the system is in its own JSON file in this archive (GDPR articles 15 "
            "and 20, CCPA right to know); this page shows the same data in readable form."
        ),
        "export_summary_files": "Files in this archive",
        "export_file": "File",
        "export_bytes": "Size (bytes)",
        "export_none": "none",
        "export_yes": "yes",
        "export_no": "no",
        "export_link": "Download my data",
        "deletion_title": "Account deletion",
        "deletion_intro": (
            "Your account was deleted and you were signed out everywhere. Each part of the "
            "system now erases what it holds about you and confirms it here."
        ),
        "deletion_running": (
            "Erasure in progress. It will be completed by {deadline} at the latest."
        ),
        "deletion_done": "Erasure completed on {at}: every part of the system confirmed it.",
        "deletion_step_done": "Erased on {at}",
        "deletion_step_pending": "Waiting for confirmation",
        "deletion_kept": (
            "The consent history keeps only a pseudonymous record (no name, address or email) "
            "as the legally required proof of consent."
        ),
        "deletion_not_found": "This link is not valid.",
        "mail_export_ready_subject": "Your data is ready to download",
        "mail_export_ready_body": (
            "The copy of your data you requested is ready.\n\nSign in and download it "
            "here: {link}\n\nIt is available until {until}."
        ),
        "mail_deletion_requested_subject": "Your account has been deleted",
        "mail_deletion_requested_body": (
            "Your account has been deleted. Every part of our system is now erasing your data; "
            "this will be completed by {deadline} at the latest.\n\nFollow the progress here: "
            "{link}\n\nWe will email you once more when it is finished."
        ),
        "mail_deletion_done_subject": "Your data has been erased",
        "mail_deletion_done_body": (
            "Every part of our system has confirmed that your data was erased. This is the last "
            "message to this address.\n\nYou are welcome to create a new account at any time: "
            "{register}"
        ),
    },
    "pl": {
        "export_title": "Pobierz moje dane",
        "export_intro": (
            "Otrzymaj kopię wszystkiego, co przechowujemy na Twój temat: konto, zgody wraz z "
            "historią i potwierdzeniami, profil oraz wiadomości i powiadomienia o Tobie."
        ),
        "export_how": (
            "Każda część systemu dodaje swoją część danych. Postęp widać na tej stronie, a gdy "
            "archiwum będzie gotowe, wyślemy też e-mail. Archiwum można pobrać przez {days} dni."
        ),
        "export_request": "Poproś o kopię moich danych",
        "export_recent": "Twoje prośby",
        "export_status_collecting": "W przygotowaniu",
        "export_status_ready": "Gotowe do pobrania",
        "export_status_failed": "Nie udało się ukończyć",
        "export_status_expired": "Już niedostępne",
        "export_requested_at": "Data prośby: {at}.",
        "export_services": "Części systemu",
        "export_service": "Część",
        "export_state": "Stan",
        "export_step_answered": "Dane przesłane",
        "export_step_pending": "Oczekiwanie",
        "export_step_failed": "Dane nieprzesłane",
        "export_detail_no-answer": "brak odpowiedzi w terminie",
        "export_detail_too_large": "zbyt dużo danych na jedną odpowiedź",
        "export_detail_failed": "błąd",
        "export_waiting": (
            "Ta strona odświeża się sama. Części, które nie odpowiedzą do {at}, zostaną "
            "oznaczone jako nieudane."
        ),
        "export_download": "Pobierz archiwum (ZIP)",
        "export_until": "Dostępne do {at}. Potem zostanie usunięte.",
        "export_failed": (
            "Nie wszystkie części systemu przesłały dane, więc nie utworzono niepełnego "
            "archiwum. Poproś o nową kopię."
        ),
        "export_not_found": "Ta prośba nie istnieje lub należy do innego konta.",
        "export_not_ready": "Archiwum nie jest jeszcze gotowe.",
        "export_gone": "To archiwum nie jest już dostępne. Poproś o nową kopię.",
        "export_service_auth": "Konto i logowanie",
        "export_service_consent": "Zgody",
        "export_service_profile": "Profil",
        "export_service_notifier": "Wiadomości i powiadomienia",
        "export_service_auth_about": (
            "Konto, sesje i urządzenia, połączone usługi logowania oraz aplikacje, którym "
            "udzielono dostępu. Hasła i klucze nigdy nie są dołączane."
        ),
        "export_service_consent_about": (
            "Obecne zgody i każda zmiana, każda z podpisanym potwierdzeniem."
        ),
        "export_service_profile_about": (
            "Profil: dane, identyfikatory, powiązane urządzenia i zarejestrowane zdarzenia."
        ),
        "export_service_notifier_about": (
            "Wiadomości wysłane na Twój adres, powiadomienia dla aplikacji o Tobie i rezygnacje."
        ),
        "export_summary_title": "Twoje dane",
        "export_summary_intro": (
            "Kopia danych konta {subject}; data prośby: {requested}, data utworzenia: {made}."
        ),
        "export_summary_rights": (
            "Każda część systemu ma w tym archiwum własny plik JSON (RODO art. 15 i 20, CCPA "
            "prawo do informacji); ta strona pokazuje te same dane w czytelnej postaci."
        ),
        "export_summary_files": "Pliki w archiwum",
        "export_file": "Plik",
        "export_bytes": "Rozmiar (bajty)",
        "export_none": "brak",
        "export_yes": "tak",
        "export_no": "nie",
        "export_link": "Pobierz moje dane",
        "deletion_title": "Usunięcie konta",
        "deletion_intro": (
            "Konto zostało usunięte, a wszystkie sesje zakończone. Każda część systemu usuwa "
            "teraz przechowywane dane i potwierdza to na tej stronie."
        ),
        "deletion_running": "Usuwanie danych trwa. Zakończy się najpóźniej {deadline}.",
        "deletion_done": "Usuwanie zakończone {at}: potwierdziły je wszystkie części systemu.",
        "deletion_step_done": "Usunięto {at}",
        "deletion_step_pending": "Oczekiwanie na potwierdzenie",
        "deletion_kept": (
            "Historia zgód zachowuje jedynie zapis pseudonimowy (bez imienia, adresu ani "
            "e-maila) jako wymagany prawem dowód zgody."
        ),
        "deletion_not_found": "Ten link jest nieprawidłowy.",
        "mail_export_ready_subject": "Kopia danych jest gotowa do pobrania",
        "mail_export_ready_body": (
            "Kopia danych, o którą poproszono, jest gotowa.\n\nPo zalogowaniu można ją pobrać "
            "tutaj: {link}\n\nBędzie dostępna do {until}."
        ),
        "mail_deletion_requested_subject": "Konto zostało usunięte",
        "mail_deletion_requested_body": (
            "Konto zostało usunięte. Wszystkie części naszego systemu usuwają teraz dane; "
            "zakończy się to najpóźniej {deadline}.\n\nPostęp można śledzić tutaj: {link}\n\n"
            "Po zakończeniu wyślemy jeszcze jedną wiadomość."
        ),
        "mail_deletion_done_subject": "Dane zostały usunięte",
        "mail_deletion_done_body": (
            "Wszystkie części naszego systemu potwierdziły usunięcie danych. To ostatnia "
            "wiadomość na ten adres.\n\nNowe konto można założyć w dowolnej chwili: {register}"
        ),
    },
}
