"""Feedback (issue #17): analysts' marks on verdicts, and who decided each article's verdict.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # a constant default: PostgreSQL 11+ and SQLite add it without rewriting the table
    op.add_column(
        "articles",
        sa.Column("verdict_by", sa.String(16), nullable=False, server_default="rules"),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "agreement_id",
            sa.Integer,
            sa.ForeignKey("agreements.id", ondelete="SET NULL"),
            index=True,
        ),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("parties", JSON),
        sa.Column("sector", sa.String(100)),
        sa.Column("rules_is_agreement", sa.Boolean, nullable=False),
        sa.Column("rules_version", sa.String(64)),
        sa.Column("language", sa.String(8)),
    )


def downgrade() -> None:
    op.drop_table("feedback")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("verdict_by")
