"""A failed article keeps the address to ask again, apart from its canonical key.

The canonical URL is a key, never an address: a WordPress site answers the canonical
``/slug`` with a 301 to the listed ``/slug/``. Rows written before keep their key as the
address (what earlier versions requested).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("url_failures") as batch:
        batch.add_column(sa.Column("address", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("url_failures") as batch:
        batch.drop_column("address")
