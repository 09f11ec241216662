"""TOTP secrets are sealed: wider columns (rows in clear are sealed at their next use)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode (written when SQLite was a dialect too): on PostgreSQL plain ALTER COLUMNs.
    with op.batch_alter_table("accounts") as batch_op:
        for column in ("totp_secret", "totp_pending_secret"):
            batch_op.alter_column(
                column, type_=sa.String(length=200), existing_type=sa.String(length=64)
            )


def downgrade() -> None:
    # A sealed secret does not fit back, and dropping it would silently turn off someone's
    # second factor: refuse instead.
    sealed = op.get_bind().execute(
        sa.text(
            "SELECT count(*) FROM accounts WHERE totp_secret LIKE 'sealed:%'"
            " OR totp_pending_secret LIKE 'sealed:%'"
        )
    )
    if sealed.scalar_one():
        raise RuntimeError("Sealed TOTP secrets exist: this migration cannot be undone.")
    with op.batch_alter_table("accounts") as batch_op:
        for column in ("totp_secret", "totp_pending_secret"):
            batch_op.alter_column(
                column, type_=sa.String(length=64), existing_type=sa.String(length=200)
            )
