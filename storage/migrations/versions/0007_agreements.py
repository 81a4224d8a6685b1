"""Agreements as first-class records (issue #13): organisations and their aliases,
agreements, the per-article records that report them, and their parties.

Existing articles get their records from `veille reclassify` (the new rules version marks
every stored verdict stale), so this migration only creates the tables.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(512), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("curated", sa.Boolean, nullable=False),
    )
    op.create_table(
        "organisation_aliases",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column(
            "organisation_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("alias", sa.Text, nullable=False),
        sa.Column("language", sa.String(8)),
    )
    op.create_index(
        "ix_organisation_aliases_organisation_id", "organisation_aliases", ["organisation_id"]
    )
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("types", JSON, nullable=False),
        sa.Column("parties", JSON, nullable=False),
        sa.Column("sectors", JSON, nullable=False),
        sa.Column("amounts", JSON, nullable=False),
        sa.Column("amount_mad", sa.Float),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("signed_on", sa.Date),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("evidence", sa.Text, nullable=False),
    )
    op.create_index("ix_agreements_first_seen", "agreements", ["first_seen"])
    op.create_table(
        "agreement_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "agreement_id",
            sa.Integer,
            sa.ForeignKey("agreements.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("parties", JSON, nullable=False),
        sa.Column("organisation_ids", JSON, nullable=False),
        sa.Column("types", JSON, nullable=False),
        sa.Column("sectors", JSON, nullable=False),
        sa.Column("amounts", JSON, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("signed_on", sa.Date),
        sa.Column("evidence", sa.Text, nullable=False),
    )
    op.create_index("ix_agreement_records_agreement_id", "agreement_records", ["agreement_id"])
    op.create_index(
        "ux_agreement_records_article", "agreement_records", ["article_id", "position"], unique=True
    )
    op.create_table(
        "agreement_parties",
        sa.Column(
            "agreement_id",
            sa.Integer,
            sa.ForeignKey("agreements.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "organisation_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index(
        "ix_agreement_parties_organisation",
        "agreement_parties",
        ["organisation_id", "agreement_id"],
    )


def downgrade() -> None:
    for name in (
        "agreement_parties",
        "agreement_records",
        "agreements",
        "organisation_aliases",
        "organisations",
    ):
        op.drop_table(name)
