"""`/privacy/history`: every change of the customer's consents in order, each with its signed
receipt (`/privacy/receipts/{version}`: a readable page; `.../{version}.jws`: the compact JWS
to keep), and the consent service's verdict on the hash chain. The receipt page verifies the
signature itself with the consent service's published keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from ciam_auth.embedding import PageSessionDep
from ciam_auth.i18n import text
from ciam_auth.pages import render
from ciam_auth.parts import AuthDep
from ciam_auth.privacy import service
from ciam_auth.privacy.api.common import PATH, labeller, repository, to_login
from ciam_auth.privacy.errors import ChangeRefused, ConsentUnavailable
from ciam_auth.privacy.schemas import History, Purpose, Receipt
from ciam_auth.web import locale_of
from ciam_shared.tokens.scopes import MY_CONSENTS_READ

router = APIRouter(tags=["pages"], include_in_schema=False)
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(f"{PATH}/history")
async def history_page(request: Request, ctx: AuthDep, current: PageSessionDep) -> Response:
    if current is None:
        return to_login(f"{PATH}/history", request)
    locale = locale_of(request)
    found, names, error, code = History(entries=[]), {}, None, 200
    try:
        http = ctx.services_http
        consent = repository(request, ctx, current, http, [MY_CONSENTS_READ])
        found = await consent.full_history(current.account_id)
        names = _names(await consent.catalogue(), locale)
    except (ConsentUnavailable, ChangeRefused):
        error, code = text(locale, "privacy_unavailable"), 503
    return render(
        request,
        ctx,
        "privacy_history.html",
        locale=locale,
        title_key="privacy_history_title",
        status_code=code,
        main_class="wide",
        history=found,
        entries=[(e, service.changed_by(e)) for e in found.entries],
        names=names,
        label=labeller(locale),
        error=error,
    )


def _names(catalogue: list[Purpose], locale: str) -> dict[str, str]:
    return {p.id: p.names.get(locale) or p.names.get("en") or p.id for p in catalogue}


async def _receipt(
    request: Request, ctx: AuthDep, current: PageSessionDep, version: int
) -> tuple[Receipt, bool, dict[str, str]]:
    assert current is not None
    http = ctx.services_http
    consent = repository(request, ctx, current, http, [MY_CONSENTS_READ])
    found = await consent.receipt(current.account_id, version)
    holds = service.receipt_signature_holds(found.jws, await consent.receipt_keys())
    names = _names(await consent.catalogue(), locale_of(request))
    return found, holds, names


def _not_found(request: Request, ctx: AuthDep, code: int) -> Response:
    locale = locale_of(request)
    key = "privacy_receipt_missing" if code == 404 else "privacy_unavailable"
    return render(
        request,
        ctx,
        "privacy_receipt.html",
        locale=locale,
        title_key="privacy_receipt_title",
        status_code=code,
        receipt=None,
        error=text(locale, key),
    )


@router.get(f"{PATH}/receipts/{{version}}.jws")
async def receipt_jws(
    request: Request, ctx: AuthDep, current: PageSessionDep, version: Version
) -> Response:
    if current is None:
        return to_login(f"{PATH}/history", request)
    try:
        found, _, _ = await _receipt(request, ctx, current, version)
    except ChangeRefused:
        return _not_found(request, ctx, 404)
    except ConsentUnavailable:
        return _not_found(request, ctx, 503)
    return Response(
        found.jws,
        media_type="application/jose",
        headers={
            "content-disposition": f'attachment; filename="consent-receipt-{version}.jws"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


@router.get(f"{PATH}/receipts/{{version}}")
async def receipt_page(
    request: Request, ctx: AuthDep, current: PageSessionDep, version: Version
) -> Response:
    if current is None:
        return to_login(f"{PATH}/history", request)
    try:
        found, holds, names = await _receipt(request, ctx, current, version)
    except ChangeRefused:
        return _not_found(request, ctx, 404)
    except ConsentUnavailable:
        return _not_found(request, ctx, 503)
    claims = found.receipt
    services = claims.get("services") or [{}]
    purposes = services[0].get("purposes") or [{}] if isinstance(services[0], dict) else [{}]
    purpose_id = str(purposes[0].get("purposeId", "")) if isinstance(purposes[0], dict) else ""
    locale = locale_of(request)
    stamp = claims.get("consentTimestamp")
    when = datetime.fromtimestamp(stamp, UTC) if isinstance(stamp, int | float) else None
    return render(
        request,
        ctx,
        "privacy_receipt.html",
        when=when,
        locale=locale,
        title_key="privacy_receipt_title",
        main_class="wide",
        receipt=claims,
        version=version,
        purpose=names.get(purpose_id, purpose_id),
        signature_holds=holds,
        jws=found.jws,
        label=labeller(locale),
        error=None,
    )
