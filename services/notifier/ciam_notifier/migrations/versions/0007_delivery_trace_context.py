"""delivery trace context

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 21:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The W3C traceparent of the fan-out: a delivery retried later is still in its change's
    # trace. Nullable: tracing off, or deliveries queued before this revision.
    op.add_column("deliveries", sa.Column("traceparent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "traceparent")
