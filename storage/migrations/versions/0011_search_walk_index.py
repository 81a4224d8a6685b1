"""SQLite: an index of the records by article that carries the agreement's id, so that the
agreements a search matches are found from the index alone (a record row was read for each
matching article: 43,000 for a common word at 1,000,000 articles). PostgreSQL walks from the
agreements to their records instead (ix_agreement_records_agreement_id, migration 0010).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NAME = "ix_agreement_records_article_agreement"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(NAME, "agreement_records", ["article_id", "agreement_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(NAME, table_name="agreement_records")
