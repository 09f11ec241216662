"""Confirming a pending link by a link mailed to the existing account (issue 5: "signs in to
it, or confirms through a link sent to it").

When a new identity's *verified* email matches an existing account, the page that asks the
customer to sign in to that account also offers "send me a confirmation link". The link goes
to the account's address by the service's mailer; it is single use, lives `MAIL_LINK_TTL_S`
(10 minutes), and only its SHA-256 is kept (Redis), together with the hash of the pending
decision it confirms. Opening it shows the import choice; submitting links the identity and
signs the customer in, but only in the browser holding that pending decision (its binding
and pending cookies): a link forwarded to someone else, or opened in another browser, does
nothing and stays usable by its owner.
Who may use it: `mail_offer.eligible` (not an account with TOTP).
"""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ciam_auth.adapters.mail import Mail
from ciam_auth.adapters.throttle import account_key
from ciam_auth.i18n import text
from ciam_auth.parts import AuthRuntimeDep, SocialDep
from ciam_auth.social.api.pages import MESSAGES, error_page, locale, render
from ciam_auth.social.api.sign_in import (
    CONTINUE,
    current_pending,
    pending_csrf,
    pending_form,
    provider_name,
    save_choice,
    see_other,
    signed_in_response,
)
from ciam_auth.social.flow import MAIL_LINK_TTL_S, Pending
from ciam_auth.social.mail_offer import CONFIRM, SEND, account_of, eligible
from ciam_shared.db import unit_of_work

router = APIRouter(tags=["social"])
MAILS_PER_HOUR = 5


def _name(social: SocialDep, pending: Pending) -> str:
    return provider_name(social, pending.provider)


@router.post(SEND, response_model=None)
async def send(request: Request, social: SocialDep, runtime: AuthRuntimeDep) -> Response:
    lang = locale(request)
    posted = await pending_form(request, social, lang)
    if isinstance(posted, Response):
        return posted
    _, pending_id, pending = posted
    account = await account_of(runtime, pending)
    if not eligible(pending, account) or account is None or account.email is None:
        return see_other(CONTINUE)
    ctx = runtime.parts.context
    name = _name(social, pending)
    # At most a few mails an hour per address: the button must not become a mail cannon.
    if await ctx.throttle.limit(
        "social-link-mail", account_key(account.email), limit=MAILS_PER_HOUR, window=3600
    ):
        token = await social.flows.issue_mail_link(pending_id)
        mail_locale = account.locale or lang
        link = ctx.link(CONFIRM + "?" + urlencode({"token": token, "ui_locales": mail_locale}))
        mail = Mail(
            to=account.email,
            subject=text(mail_locale, "mail_social_link_subject", provider=name),
            body=text(
                mail_locale,
                "mail_social_link_body",
                provider=name,
                link=link,
                minutes=MAIL_LINK_TTL_S // 60,
            ),
            valid_seconds=MAIL_LINK_TTL_S,
        )
        async with unit_of_work(ctx.db) as session:
            ctx.mailer.stage(session, mail)
    t = MESSAGES[lang]
    return render(request, "social_prove.html", lang=lang, provider=name,
                  message=t["link_mail_sent"].replace("{email}", account.email),
                  sign_in_url=None, mail_url=None)  # fmt: skip


@router.get(CONFIRM, response_model=None)
async def confirm_page(
    request: Request, social: SocialDep, token: str = "", ui_locales: str | None = None
) -> Response:
    """A GET changes nothing (mail scanners open links): it shows the import choice, whose
    submit confirms. The link carries the account's language."""
    lang = locale(request, ui_locales)
    found = await current_pending(request, social)
    if found is None or not await social.flows.mail_link_matches(token, found[0]):
        return _link_invalid(request, social, found, lang)
    pending_id, pending = found
    name, t = _name(social, pending), MESSAGES[lang]
    return render(request, "social_continue.html", lang=lang, provider=name,
                  title=t["link_title"].replace("{provider}", name),
                  intro=t["link_confirm_intro"].replace("{provider}", name)
                  .replace("{email}", pending.email or ""),
                  button=t["link_button"], fields=list(pending.offered),
                  csrf_token=pending_csrf(request, pending_id), action=CONFIRM,
                  token=token)  # fmt: skip


@router.post(CONFIRM, response_model=None)
async def confirm(request: Request, social: SocialDep, runtime: AuthRuntimeDep) -> Response:
    lang = locale(request)
    form = await request.form()
    token = str(form.get("token", ""))
    found = await current_pending(request, social)
    if found is None or not await social.flows.mail_link_matches(token, found[0]):
        return _link_invalid(request, social, found, lang)
    pending_id, pending = found
    name = _name(social, pending)
    if not hmac.compare_digest(str(form.get("csrf_token", "")), pending_csrf(request, pending_id)):
        return error_page(request, "csrf", lang=lang, status=403, provider=name)
    if form.get("decision") != "accept":
        await social.flows.use_mail_link(token, pending_id)
        await social.flows.done(pending_id)
        return see_other("/login")
    account = await account_of(runtime, pending)
    if not eligible(pending, account) or not await social.flows.use_mail_link(token, pending_id):
        return error_page(request, "link_invalid", lang=lang, provider=name)
    assert account is not None
    chosen = [str(v) for v in form.getlist("fields")]
    refused = await save_choice(request, social, runtime, pending_id, pending, chosen, account.id)
    if refused is not None:
        return refused
    # The mailbox proved the account, the provider the identity: the customer is in.
    return await signed_in_response(request, runtime, social, account.id, pending.return_to,
                                    provider=name)  # fmt: skip


def _link_invalid(
    request: Request, social: SocialDep, found: tuple[str, Pending] | None, lang: str
) -> Response:
    """The page names the provider when this browser still has its pending decision."""
    name = _name(social, found[1]) if found else ""
    return error_page(request, "link_invalid", lang=lang, provider=name)
