from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from ciam_consent.parts import PartsDep
from ciam_consent.service.recording import Recorder


async def get_recorder(parts: PartsDep) -> Recorder:
    return parts.recorder


RecorderDep = Annotated[Recorder, Depends(get_recorder)]
