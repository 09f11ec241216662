"""`/privacy`: the customer's consents, one form per purpose (grant or withdraw, 303 back),
and one per brand or channel where the catalogue narrows a purpose.

Each request signs a one-minute customer token of auth's own pages (`FIRST_PARTY_CLIENT`,
`me:consents:read` to show, `me:consents:write` to change) and calls the consent service with
it. The consent service not answering is a page that says so, never a 500. A grant of email or
SMS marketing is not sent to the consent service: a confirmation link is mailed (optin.py,
confirm.py). The other pages of the privacy centre are included here (history, apps,
propagation, confirmation), so main.py includes one router."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import RedirectResponse

from ciam_auth.adapters.mail import Mail
from ciam_auth.context import AuthContext
from ciam_auth.embedding import PageSessionDep, page_brand
from ciam_auth.errors import CsrfFailed
from ciam_auth.i18n import text
from ciam_auth.pages import OptionalForm, render
from ciam_auth.parts import AuthDep
from ciam_auth.privacy import local, optin, service
from ciam_auth.privacy.api import apps, confirm, history, live
from ciam_auth.privacy.api.common import (
    PATH,
    gpc_of,
    labeller,
    ledger,
    repository,
    to_login,
)
from ciam_auth.privacy.errors import ChangeRefused, ConsentUnavailable
from ciam_auth.privacy.repository import Action, ConsentRepository
from ciam_auth.sessions.store import Session
from ciam_auth.theming import keep
from ciam_auth.transactions import transaction
from ciam_auth.web import check_csrf, device_label, locale_of
from ciam_shared.tokens.scopes import MY_CONSENTS_READ, MY_CONSENTS_WRITE

# Every privacy page may be opened for a brand app (`?client_id=`): its look, its frames.
router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[Depends(page_brand)])
for _sub in (history.router, apps.router, live.router, confirm.router):
    router.include_router(_sub)
PURPOSE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# A brand or channel as the consent service accepts them (its `Scope`).
SCOPE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ACTIONS: tuple[Action, ...] = ("grant", "withdraw")
NOTICES = {
    "grant": "privacy_granted",
    "withdraw": "privacy_withdrawn",
    "pending": "privacy_optin_sent",
    "confirmed": "privacy_optin_confirmed",
}


async def _page(
    request: Request,
    ctx: AuthContext,
    current: Session,
    *,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
    version: int | None = None,
) -> Response:
    locale = locale_of(request)
    groups: list[service.Group] = []
    try:
        http = ctx.services_http
        consent = repository(request, ctx, current, http, [MY_CONSENTS_READ])
        catalogue = await consent.catalogue()
        pending = await ledger(ctx).pending(current.account_id, [p.id for p in catalogue])
        groups = await service.overview(
            consent,
            current.account_id,
            locale,
            gpc=gpc_of(request),
            pending=pending,
            catalogue=catalogue,
        )
    except (ConsentUnavailable, ChangeRefused):
        error, notice, status_code, version = text(locale, "privacy_unavailable"), None, 503, None
    reconsent = [p for g in groups for p in g.purposes if p.reconsent is not None]
    return render(
        request,
        ctx,
        "privacy.html",
        locale=locale,
        title_key="privacy_title",
        status_code=status_code,
        main_class="wide",
        groups=groups,
        reconsent=reconsent,
        gpc=gpc_of(request),
        label=labeller(locale),
        error=error,
        notice=notice,
        version=version,
    )


@router.get(PATH)
async def privacy_page(
    request: Request,
    ctx: AuthDep,
    current: PageSessionDep,
    done: str | None = None,
    version: int | None = None,
) -> Response:
    if current is None:
        return to_login(PATH, request)
    notice = text(locale_of(request), NOTICES[done]) if done in NOTICES else None
    shown = version if version is not None and 0 < version < 2**31 else None
    return await _page(request, ctx, current, notice=notice, version=shown)


def _scope(value: str | None) -> str | None:
    """A brand or channel from the form: absent or empty is None (every one)."""
    if not value:
        return None
    if not SCOPE.match(value):
        raise ChangeRefused("not a brand or channel")
    return value


@router.post(f"{PATH}/consents")
async def change_consent(
    request: Request,
    ctx: AuthDep,
    current: PageSessionDep,
    purpose: OptionalForm = None,
    action: OptionalForm = None,
    channel: OptionalForm = None,
    brand: OptionalForm = None,
    csrf: OptionalForm = None,
) -> Response:
    if current is None:
        return to_login(PATH, request)
    locale = locale_of(request)

    async def failed(code: int, key: str) -> Response:
        return await _page(request, ctx, current, status_code=code, error=text(locale, key))

    try:
        check_csrf(request, csrf)
    except CsrfFailed:
        return await failed(403, "form_expired")
    if not purpose or not PURPOSE.match(purpose) or action not in ACTIONS:
        return await failed(400, "privacy_refused")
    chosen: Action = action
    try:
        narrowed = {"brand": _scope(brand), "channel": _scope(channel)}
        http = ctx.services_http
        consent = repository(request, ctx, current, http, [MY_CONSENTS_READ, MY_CONSENTS_WRITE])
        if (
            chosen == "grant"
            and await service.needs_double_opt_in(consent, purpose)
            and not await _reconsent_asked(consent, current, purpose)
        ):
            if not await _send_opt_in(request, ctx, current, purpose, narrowed["channel"]):
                return await failed(400, "privacy_optin_no_address")
            return _see_other(request, f"{PATH}?done=pending#purpose-{purpose}")
        device = device_label(request.headers.get("user-agent"))
        version = await service.change(
            consent, current.account_id, purpose, chosen, device, **narrowed
        )
    except ChangeRefused:
        return await failed(400, "privacy_refused")
    except ConsentUnavailable:
        return await failed(503, "privacy_unavailable")
    if chosen == "withdraw":
        await ledger(ctx).clear_pending(current.account_id, purpose)
    return _see_other(request, f"{PATH}?done={chosen}&version={version}#purpose-{purpose}")


def _see_other(request: Request, url: str) -> Response:
    """Back to the page, for the brand app it was opened for (`client_id` kept)."""
    return RedirectResponse(keep(request, url), status_code=status.HTTP_303_SEE_OTHER)


async def _reconsent_asked(consent: ConsentRepository, current: Session, purpose: str) -> bool:
    """A re-consent (the notice changed) of a purpose whose address was confirmed before is
    granted at once: the double opt-in proved the address, not the notice."""
    return any(
        c.purpose == purpose and c.status == "needs_reconsent"
        for c in await consent.consents_of(current.account_id)
    )


async def _send_opt_in(
    request: Request, ctx: AuthContext, current: Session, purpose: str, channel: str | None
) -> bool:
    """Mail the confirmation link; False when the account has no confirmed address."""
    secret = ctx.settings.key_encryption_secret.get_secret_value()
    link = ctx.link(
        f"{PATH}/confirm?token={optin.sign(secret, current.account_id, purpose, channel)}"
    )
    async with transaction(ctx.db) as session:
        found = await local.address_of(session, current.account_id)
        if found is None:
            return False
        address, mail_locale = found
        # How the mail names it ("offers by email"), else the purpose's id.
        name = labeller(mail_locale)("privacy_purpose_", purpose)
        ctx.mailer.stage(
            session,
            Mail(
                to=address,
                subject=text(mail_locale, "privacy_optin_mail_subject"),
                body=text(mail_locale, "privacy_optin_mail_body", purpose=name, link=link),
                valid_seconds=optin.TTL_S,
            ),
        )
    await ledger(ctx).mark_pending(current.account_id, purpose)
    return True
