"""One search on both databases: a folded copy of each article's text is indexed (SQLite FTS5
declared the way Datasette recognises it; a PostgreSQL tsvector over the same copy), and JSON
columns are rewritten as real UTF-8 instead of \\uXXXX escapes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import json

import sqlalchemy as sa
from alembic import op

from storage.search import searchable

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 1000
JSON_COLUMNS = {
    "articles": ("agreement_types", "sectors", "parties", "amounts", "evidence"),
    "crawl_runs": ("sources", "counts", "errors"),
}

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE "articles_fts" USING fts5(
        "search_text", content="articles", content_rowid="id",
        tokenize="unicode61 remove_diacritics 2")""",
    """CREATE TRIGGER "articles_fts_insert" AFTER INSERT ON "articles" BEGIN
        INSERT INTO "articles_fts"(rowid, "search_text") VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER "articles_fts_delete" AFTER DELETE ON "articles" BEGIN
        INSERT INTO "articles_fts"("articles_fts", rowid, "search_text")
        VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER "articles_fts_update" AFTER UPDATE OF search_text ON "articles" BEGIN
        INSERT INTO "articles_fts"("articles_fts", rowid, "search_text")
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO "articles_fts"(rowid, "search_text") VALUES (new.id, new.search_text);
    END""",
    """INSERT INTO "articles_fts"("articles_fts") VALUES ('rebuild')""",
]
SQLITE_OLD_FTS = [
    "DROP TRIGGER IF EXISTS articles_fts_insert",
    "DROP TRIGGER IF EXISTS articles_fts_delete",
    "DROP TRIGGER IF EXISTS articles_fts_update",
    "DROP TABLE IF EXISTS articles_fts",
]
POSTGRES_FTS = [
    "DROP INDEX IF EXISTS ix_articles_search",
    "ALTER TABLE articles DROP COLUMN IF EXISTS search",
    """ALTER TABLE articles ADD COLUMN search tsvector
        GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED""",
    "CREATE INDEX ix_articles_search ON articles USING gin (search)",
]


def _fill_search_text(conn: sa.Connection) -> None:
    """Every article's folded copy, in batches by id."""
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, title, lead, text FROM articles WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        conn.execute(
            sa.text("UPDATE articles SET search_text = :s WHERE id = :id"),
            [{"id": r.id, "s": searchable(r.title, r.lead, r.text)} for r in rows],
        )
        last = rows[-1].id


def _unescape_json(conn: sa.Connection) -> None:
    """SQLite: JSON columns written with ensure_ascii rewritten as UTF-8."""
    for table, columns in JSON_COLUMNS.items():
        names = ", ".join(columns)
        last = 0
        while True:
            rows = conn.execute(
                sa.text(f"SELECT id, {names} FROM {table} WHERE id > :last ORDER BY id LIMIT :n"),
                {"last": last, "n": BATCH},
            ).all()
            if not rows:
                break
            sets = ", ".join(f"{c} = :{c}" for c in columns)
            updates = [
                {
                    "id": r.id,
                    **{
                        c: json.dumps(json.loads(v), ensure_ascii=False) if v else v
                        for c, v in zip(columns, r[1:], strict=True)
                    },
                }
                for r in rows
            ]
            conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"), updates)
            last = rows[-1].id


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        for statement in SQLITE_OLD_FTS:  # its update trigger would fire on every row below
            op.execute(statement)
    op.add_column("articles", sa.Column("search_text", sa.Text, nullable=False, server_default=""))
    _fill_search_text(conn)
    if sqlite:
        _unescape_json(conn)
    for statement in SQLITE_FTS if sqlite else POSTGRES_FTS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("0005 is not reversible: restore a backup instead")
