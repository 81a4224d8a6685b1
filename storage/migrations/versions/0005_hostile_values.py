"""Articles keep a publication date later than their fetch, and another site's canonical, as
given: `published_at` is then the fetch time, and the key the page's own URL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("published_claimed", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("canonical_hint", sa.String(2048)))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("canonical_hint")
        batch.drop_column("published_claimed")
