"""A client's brand look and the origins that may frame the privacy pages

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("oauth_clients", sa.Column("branding", sa.JSON(), nullable=True))
    op.add_column(
        "oauth_clients",
        sa.Column("embed_origins", sa.JSON(), nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    op.drop_column("oauth_clients", "embed_origins")
    op.drop_column("oauth_clients", "branding")
