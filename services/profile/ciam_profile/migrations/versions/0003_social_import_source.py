"""profile fields: imported_for marks the values the social import wrote

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("profile_fields", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_for", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_profile_fields_imported_for"), ["imported_for"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("profile_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_fields_imported_for"))
        batch_op.drop_column("imported_for")
