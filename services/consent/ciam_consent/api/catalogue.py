"""The purpose catalogue over HTTP: public reads, admin writes."""

from __future__ import annotations

from fastapi import APIRouter, status

from ciam_consent.api.deps import RecorderDep
from ciam_consent.auth import PrincipalDep, require_admin
from ciam_consent.schemas import PurposeIn, PurposeOut, PurposeVersionIn, PurposeVersionOut, Slug
from ciam_consent.service import catalogue
from ciam_shared.http.openapi import problem_responses
from ciam_shared.service import SessionDep

router = APIRouter(prefix="/v1/purposes", tags=["purposes"])


def _out(view: catalogue.PurposeView) -> PurposeOut:
    p = view.purpose
    return PurposeOut(
        id=p.id,
        names=p.names,
        descriptions=p.descriptions,
        legal_basis=p.legal_basis,
        data_categories=p.data_categories,
        channels=p.channels,
        sale_or_share=p.sale_or_share,
        current_version=p.current_version,
        min_valid_version=p.min_valid_version,
        versions=[
            PurposeVersionOut(
                version=v.version,
                notice=v.notice,
                notice_hash=v.notice_hash,
                published_at=v.published_at,
            )
            for v in view.versions
        ],
    )


@router.get("")
async def list_purposes(session: SessionDep) -> list[PurposeOut]:
    return [_out(v) for v in await catalogue.list_purposes(session)]


@router.get("/{purpose_id}", responses=problem_responses(404))
async def get_purpose(purpose_id: Slug, session: SessionDep) -> PurposeOut:
    return _out(await catalogue.get_purpose(session, purpose_id))


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses=problem_responses(400, 401, 403, 409, 503)
)
async def create_purpose(
    body: PurposeIn, session: SessionDep, principal: PrincipalDep, recorder: RecorderDep
) -> PurposeOut:
    require_admin(principal)
    view = await catalogue.create_purpose(
        session, body.model_dump(), topic_prefix=recorder.topic_prefix
    )
    return _out(view)


@router.post(
    "/{purpose_id}/versions",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 503),
)
async def publish_version(
    purpose_id: Slug,
    body: PurposeVersionIn,
    session: SessionDep,
    principal: PrincipalDep,
    recorder: RecorderDep,
) -> PurposeOut:
    require_admin(principal)
    view, _ = await catalogue.publish_version(
        session,
        recorder,
        purpose_id,
        {str(k): v for k, v in body.notice.items()},
        requires_reconsent=body.requires_reconsent,
    )
    return _out(view)
