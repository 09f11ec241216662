from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from ciam_consent.service.recording import Recorder
from ciam_shared.service import RuntimeDep


def get_recorder(runtime: RuntimeDep) -> Recorder:
    recorder: Recorder = runtime.extras["recorder"]
    return recorder


RecorderDep = Annotated[Recorder, Depends(get_recorder)]
