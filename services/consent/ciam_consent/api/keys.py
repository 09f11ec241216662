from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ciam_consent.api.deps import RecorderDep

router = APIRouter(prefix="/v1/receipts", tags=["receipts"])


@router.get("/jwks.json")
async def jwks(recorder: RecorderDep) -> dict[str, Any]:
    """The public keys that verify consent receipts (ES256 JWS)."""
    return recorder.signer.jwks()
