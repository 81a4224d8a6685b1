"""Index articles on when they appeared: published, else fetched (the order queries use).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WHEN = "coalesce(published_at, fetched_at)"
INDEXES = {
    "ix_articles_when": WHEN,
    "ix_articles_source_when": f"source_id, {WHEN}",
    "ix_articles_agreement_when": f"is_agreement, {WHEN}",
}
OLD = {
    "ix_articles_published_at": ["published_at"],
    "ix_articles_source_published": ["source_id", "published_at"],
    "ix_articles_agreement_published": ["is_agreement", "published_at"],
}


def upgrade() -> None:
    for name in OLD:
        op.drop_index(name, table_name="articles")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON articles ({columns})")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="articles")
    for name, columns in OLD.items():
        op.create_index(name, "articles", columns)
