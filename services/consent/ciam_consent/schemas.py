from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class SubjectOut(BaseModel):
    id: uuid.UUID
    registered_at: datetime
    known_since: datetime
