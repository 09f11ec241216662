"""social sign-in: linked identities; social-only accounts have no password (or no email)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode (written when SQLite was a dialect too): PostgreSQL gets the same two ALTER
    # COLUMN statements as without it.
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.alter_column("password_hash", existing_type=sa.String(255), nullable=True)
        batch_op.alter_column("email", existing_type=sa.String(320), nullable=True)
    op.create_table(
        "linked_identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("import_fields", sa.JSON(), nullable=False),
        sa.Column("imported", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_linked_identities_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linked_identities")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_linked_identities_issuer")),
    )
    op.create_index(
        op.f("ix_linked_identities_account_id"), "linked_identities", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_linked_identities_account_id"), table_name="linked_identities")
    op.drop_table("linked_identities")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(320), nullable=False)
        batch_op.alter_column("password_hash", existing_type=sa.String(255), nullable=False)
