"""subscription index version

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One counter, bumped by a trigger in the same transaction as any change to subscriptions
    # (the API's, a deleted app's, another replica's, an operator's SQL): the consent-change
    # consumer keeps the subscriptions in memory and checks the counter in its own statement,
    # so a stale index is never used (ciam_notifier.service.changes).
    op.create_table(
        "subscription_index_version",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_subscription_index_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_index_version")),
    )
    op.execute("INSERT INTO subscription_index_version (id, version) VALUES (1, 0)")
    op.execute(
        """
        CREATE FUNCTION bump_subscription_index_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE subscription_index_version SET version = version + 1 WHERE id = 1;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER subscriptions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON subscriptions FOR EACH STATEMENT EXECUTE FUNCTION bump_subscription_index_version()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER subscriptions_changed ON subscriptions")
    op.execute("DROP FUNCTION bump_subscription_index_version()")
    op.drop_table("subscription_index_version")
