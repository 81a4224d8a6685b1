"""Feeds remember the publisher's poll hints (<ttl>, max-age) and Retry-After.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("poll_hint_seconds", sa.Integer))
        batch.add_column(sa.Column("retry_after_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("retry_after_at")
        batch.drop_column("poll_hint_seconds")
