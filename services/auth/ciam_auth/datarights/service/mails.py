"""The data-rights emails, in the customer's language."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from ciam_auth.adapters.mail import Mail
from ciam_auth.context import AuthContext
from ciam_auth.i18n import text


def _link(ctx: AuthContext, path: str, locale: str) -> str:
    return ctx.link(f"{path}?{urlencode({'ui_locales': locale})}")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def export_ready(
    ctx: AuthContext, to: str, locale: str, export_path: str, expires_at: datetime
) -> Mail:
    return Mail(
        to=to,
        subject=text(locale, "mail_export_ready_subject"),
        body=text(
            locale,
            "mail_export_ready_body",
            link=_link(ctx, export_path, locale),
            until=_when(expires_at),
        ),
    )


def deletion_requested(
    ctx: AuthContext, to: str, locale: str, status_path: str, deadline: datetime
) -> Mail:
    return Mail(
        to=to,
        subject=text(locale, "mail_deletion_requested_subject"),
        body=text(
            locale,
            "mail_deletion_requested_body",
            link=_link(ctx, status_path, locale),
            deadline=_when(deadline),
        ),
    )


def deletion_done(ctx: AuthContext, to: str, locale: str) -> Mail:
    """No link: the status token is not stored (only its hash); the first mail holds it."""
    return Mail(
        to=to,
        subject=text(locale, "mail_deletion_done_subject"),
        body=text(locale, "mail_deletion_done_body", register=_link(ctx, "/register", locale)),
    )
