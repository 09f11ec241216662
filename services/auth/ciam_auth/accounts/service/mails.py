"""The account emails, in the customer's language."""

from __future__ import annotations

from urllib.parse import urlencode

from ciam_auth.accounts.service.email_tokens import Issued
from ciam_auth.adapters.mail import Mail
from ciam_auth.context import AuthContext
from ciam_auth.i18n import text


def _link(ctx: AuthContext, path: str, locale: str, **query: str) -> str:
    return ctx.link(f"{path}?{urlencode({**query, 'ui_locales': locale})}")


def verification(ctx: AuthContext, to: str, locale: str, issued: Issued, *, change: bool) -> Mail:
    hours = max(1, ctx.settings.verification_ttl_seconds // 3600)
    link = _link(ctx, "/verify-email", locale, token=issued.token)
    subject = "mail_change_subject" if change else "mail_verify_subject"
    return Mail(
        to=to,
        subject=text(locale, subject),
        body=text(locale, "mail_verify_body", link=link, code=issued.code, hours=hours),
        valid_seconds=ctx.settings.verification_ttl_seconds,
    )


def reset(ctx: AuthContext, to: str, locale: str, issued: Issued) -> Mail:
    minutes = max(1, ctx.settings.reset_ttl_seconds // 60)
    link = _link(ctx, "/reset-password", locale, token=issued.token)
    return Mail(
        to=to,
        subject=text(locale, "mail_reset_subject"),
        body=text(locale, "mail_reset_body", link=link, code=issued.code, minutes=minutes),
        valid_seconds=ctx.settings.reset_ttl_seconds,
    )


def already_registered(ctx: AuthContext, to: str, locale: str) -> Mail:
    return Mail(
        to=to,
        subject=text(locale, "mail_exists_subject"),
        body=text(
            locale,
            "mail_exists_body",
            login=_link(ctx, "/login", locale),
            reset=_link(ctx, "/reset-password", locale),
        ),
    )


def password_changed(ctx: AuthContext, to: str, locale: str) -> Mail:
    return Mail(
        to=to,
        subject=text(locale, "mail_password_subject"),
        body=text(locale, "mail_password_body", reset=_link(ctx, "/reset-password", locale)),
    )


def email_change_requested(ctx: AuthContext, to: str, locale: str) -> Mail:
    return Mail(
        to=to,
        subject=text(locale, "mail_email_changed_subject"),
        body=text(locale, "mail_email_changed_body", reset=_link(ctx, "/reset-password", locale)),
    )
