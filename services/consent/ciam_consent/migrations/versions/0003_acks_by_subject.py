"""propagation_acks indexed by subject and version

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 11:00:00

`/propagation` reads one subject's acknowledgements from a version on; the primary key starts
with the subscriber, so that read scanned the whole table. A plain CREATE INDEX: while it
builds, writes to the table wait, and only the applied-consents consumer writes it (it
catches up afterwards; nothing is lost).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_propagation_acks_subject_id_version",
        "propagation_acks",
        ["subject_id", "version"],
    )


def downgrade() -> None:
    op.drop_index("ix_propagation_acks_subject_id_version", table_name="propagation_acks")
