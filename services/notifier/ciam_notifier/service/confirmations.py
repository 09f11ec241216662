"""Confirmation emails of consent changes ("you will no longer receive..."), Polish or English.

Queued in the consumer's transaction, one per change: the key `confirmation-<event>-email-
<subject>` is unique, so a redelivered change queues nothing new. The address and language
are asked of the auth service when the email is sent (ciam_notifier.contacts), never stored.
A confirmation is transactional, not marketing: it is not subject to the consent checks.
"""

from __future__ import annotations

from ciam_shared.events import CloudEvent, ConsentChange, ConsentStatus

APP = "ciam-notifier"
KIND = "confirmation"

_CHANNELS = {
    "en": {"email": "email", "sms": "text messages", None: "any channel"},
    "pl": {"email": "e-mail", "sms": "SMS", None: "wszystkie kanały"},
}
_TITLES = {
    "en": "Your privacy choice has been recorded",
    "pl": "Zapisaliśmy Twój wybór dotyczący prywatności",
}
_LINES = {
    "en": {
        ConsentStatus.GRANTED: "You agreed to “{purpose}” ({channel}). You can withdraw at "
        "any time.",
        ConsentStatus.WITHDRAWN: "You will no longer receive “{purpose}” ({channel}).",
        ConsentStatus.DENIED: "You will not receive “{purpose}” ({channel}).",
        ConsentStatus.EXPIRED: "Your consent to “{purpose}” ({channel}) has expired: "
        "you will no longer receive it.",
        ConsentStatus.NEEDS_RECONSENT: "“{purpose}” ({channel}) has changed: until you agree "
        "again, you will no longer receive it.",
    },
    "pl": {
        ConsentStatus.GRANTED: "Zapisaliśmy Twoją zgodę na „{purpose}” ({channel}). Możesz ją "
        "wycofać w każdej chwili.",
        ConsentStatus.WITHDRAWN: "Nie będziesz już otrzymywać „{purpose}” ({channel}).",
        ConsentStatus.DENIED: "Nie będziesz otrzymywać „{purpose}” ({channel}).",
        ConsentStatus.EXPIRED: "Twoja zgoda na „{purpose}” ({channel}) wygasła: nie będziesz "
        "już tego otrzymywać.",
        ConsentStatus.NEEDS_RECONSENT: "Warunki „{purpose}” ({channel}) się zmieniły: dopóki "
        "nie wyrazisz zgody ponownie, nie będziesz tego otrzymywać.",
    },
}
_FOOTERS = {
    "en": "If you did not make this change, sign in and review your preferences.",
    "pl": "Jeśli to nie Ty, zaloguj się i sprawdź swoje ustawienia.",
}


def language(locale: str) -> str:
    """`pl`, `pl-PL`, `pl_PL` read Polish; anything else English."""
    return "pl" if locale.lower().replace("_", "-").split("-")[0] == "pl" else "en"


def render(locale: str, change: dict[str, str | None]) -> tuple[str, str]:
    """The title and body of a confirmation, in the customer's language."""
    lang = language(locale)
    status = ConsentStatus(str(change["status"]))
    channel = _CHANNELS[lang].get(change.get("channel"), change.get("channel") or "")
    line = _LINES[lang][status].format(purpose=change["purpose"], channel=channel)
    brand = f"[{change['brand']}] " if change.get("brand") else ""
    return _TITLES[lang], f"{brand}{line}\n\n{_FOOTERS[lang]}\n"


def key_of(event: CloudEvent[ConsentChange]) -> str:
    return f"confirmation-{event.id}-email-{event.data.subject_id}"


def change_of(data: ConsentChange) -> dict[str, str | None]:
    """What a confirmation keeps of its change (no personal data)."""
    return {
        "status": data.status.value,
        "purpose": data.purpose,
        "channel": data.channel,
        "brand": data.brand,
    }
