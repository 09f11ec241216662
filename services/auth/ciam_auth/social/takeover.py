"""Pre-account hijacking (Sudhodanan and Paverd, 2022): someone registers a customer's address
with a password and never confirms it; when the customer later signs in with a provider that
vouches for that address, the address is theirs and the unproven registration goes (its
password, sessions, links and codes), instead of the customer's identity joining it.
docs/security.md, "Pre-hijacking", says why this and not a refusal."""

from __future__ import annotations

from ciam_auth.adapters.mail import Mail
from ciam_auth.context import AuthContext
from ciam_auth.i18n import text


def notice(ctx: AuthContext, to: str, locale: str, provider: str) -> Mail:
    """Tells the address's owner what happened (it went to the address the provider vouched
    for, so only its owner reads it)."""
    return Mail(
        to=to,
        subject=text(locale, "mail_social_takeover_subject", provider=provider),
        body=text(
            locale,
            "mail_social_takeover_body",
            provider=provider,
            email=to,
            account=ctx.link("/account?ui_locales=" + locale),
        ),
    )
