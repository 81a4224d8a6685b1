"""PostgreSQL: two indexes carry the ids that their readers want, so that those reads never
visit the tables' pages: a source's article ids (the agreements' source filter read 23,000
heap pages of articles at 1,000,000 articles) and an agreement's article ids (the search
filter and the source and language facets read a record row for each). SQLite's indexes
hold the rowid already, and its tables are read by rowid: nothing to do there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEXES = {  # name: (table, columns, what the index also carries)
    "ix_articles_source_when": ("articles", "source_id, coalesce(published_at, fetched_at)", "id"),
    "ix_agreement_records_agreement_id": ("agreement_records", "agreement_id", "article_id"),
}


def _recreate(carried: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, columns, include) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.execute(
            f"CREATE INDEX {name} ON {table} ({columns})"
            + (f" INCLUDE ({include})" if carried else "")
        )


def upgrade() -> None:
    _recreate(carried=True)


def downgrade() -> None:
    _recreate(carried=False)
