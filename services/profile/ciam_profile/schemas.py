from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class ProfileOut(BaseModel):
    subject_id: uuid.UUID
    registered_at: datetime
    created_at: datetime
