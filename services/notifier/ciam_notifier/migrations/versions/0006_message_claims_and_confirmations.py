"""message claims and confirmations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 01:57:08.799569
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="marketing", nullable=False)
        )
        batch_op.add_column(sa.Column("change", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("recipient", existing_type=sa.VARCHAR(length=320), nullable=True)
    # Messages queued before this revision keep their id as the key (as their Message-ID was).
    op.execute("UPDATE messages SET idempotency_key = 'message-' || CAST(id AS VARCHAR(36))")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column(
            "idempotency_key", existing_type=sa.String(length=200), nullable=False
        )
        batch_op.create_index("ix_messages_claims", ["status", "claimed_at"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_messages_idempotency_key"), ["idempotency_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_messages_idempotency_key"), type_="unique")
        batch_op.drop_index("ix_messages_claims")
        batch_op.alter_column("recipient", existing_type=sa.VARCHAR(length=320), nullable=False)
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("change")
        batch_op.drop_column("kind")
        batch_op.drop_column("idempotency_key")
