"""SQLAlchemy models: sources, their feeds, articles and their aliases, stories, crawl runs,
agreements with their records, parties and organisations, analysts' feedback."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    func,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.search import searchable
from storage.times import utc

JsonList = JSON().with_variant(JSONB(), "postgresql")
WHEN = "coalesce(published_at, fetched_at)"
RULES, ANALYST = "rules", "analyst"  # who decided an article's verdict (Article.verdict_by)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: veille stores UTC only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


def _searchable(context: DefaultExecutionContext) -> str:
    """The folded copy of an inserted article's title, lead and text."""
    row = context.get_current_parameters()
    return searchable(row.get("title"), row.get("lead"), row.get("text"))


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Source(Base):
    """An outlet, as last seen in the sources file."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    feeds: Mapped[list[Feed]] = relationship(back_populates="source")


class Feed(Base):
    """One feed or news sitemap of a source, with its HTTP validators and health."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "feed" | "sitemap"
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_fetched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_new_item_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    poll_hint_seconds: Mapped[int | None] = mapped_column(Integer)  # <ttl>, max-age...
    retry_after_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    source: Mapped[Source] = relationship(back_populates="feeds")


class Article(Base):
    """One article, stored once under its canonical URL."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(512))
    lead: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the publication date the page gave when it was after the fetch (published_at: the fetch)
    published_claimed: Mapped[datetime | None] = mapped_column(UtcDateTime())
    canonical_hint: Mapped[str | None] = mapped_column(String(2048))  # another site's canonical
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    language: Mapped[str | None] = mapped_column(String(8))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    is_agreement: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)
    agreement_types: Mapped[list[str]] = mapped_column(JsonList, default=list)
    sectors: Mapped[list[str]] = mapped_column(JsonList, default=list)
    parties: Mapped[list[str]] = mapped_column(JsonList, default=list)
    amounts: Mapped[list[dict[str, Any]]] = mapped_column(JsonList, default=list)
    evidence: Mapped[list[str]] = mapped_column(JsonList, default=list)
    rules_version: Mapped[str | None] = mapped_column(String(64))
    # who decided is_agreement and the records: "rules", or "analyst" once marked (feedback)
    verdict_by: Mapped[str] = mapped_column(String(16), server_default=RULES)
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    # title, lead and text folded (storage/search.py): what full-text search indexes
    search_text: Mapped[str] = mapped_column(Text, default=_searchable, nullable=False)

    # queries order and filter on when an article appeared: published, else fetched
    __table_args__ = (
        Index("ix_articles_when", sql_text(WHEN)),
        # with the ids on PostgreSQL: a source's articles read from the index alone
        Index("ix_articles_source_when", "source_id", sql_text(WHEN), postgresql_include=["id"]),
        Index("ix_articles_agreement_when", "is_agreement", sql_text(WHEN)),
    )


class ArticleAlias(Base):
    """Another canonical URL under which a stored article was seen."""

    __tablename__ = "article_aliases"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )


class StoryBand(Base):
    """One LSH band key of an article's MinHash signature: the persistent story index."""

    __tablename__ = "story_bands"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )


class UrlFailure(Base):
    """An article URL that could not be stored: retried on later runs unless it is gone."""

    __tablename__ = "url_failures"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)  # canonical key
    address: Mapped[str | None] = mapped_column(Text)  # what to request (None: the key)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id"))
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    gone: Mapped[bool] = mapped_column(Boolean, default=False)
    last_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    feed_title: Mapped[str | None] = mapped_column(Text)
    feed_date: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CrawlRun(Base):
    """One crawl: when, what it was asked, how it ended, and per-source counts."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed | interrupted
    sources: Mapped[list[str]] = mapped_column(JsonList, default=list)
    counts: Mapped[dict[str, Any]] = mapped_column(JsonList, default=dict)
    errors: Mapped[list[str]] = mapped_column(JsonList, default=list)
    pid: Mapped[int | None] = mapped_column(Integer)


def appeared() -> ColumnElement[datetime]:
    """When an article appeared: published, else fetched; queries order and filter on it
    (indexed as WHEN, see migration 0003)."""
    return func.coalesce(Article.published_at, Article.fetched_at)


class Organisation(Base):
    """A signatory: curated (crawler/core/rules/organisations.toml) or found by the crawl."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="other")
    curated: Mapped[bool] = mapped_column(Boolean, default=False)


class OrganisationAlias(Base):
    """A name an organisation goes by, under its folded key (crawler.core.organisations.fold_name)."""

    __tablename__ = "organisation_aliases"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    alias: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))


class Agreement(Base):
    """One agreement, merged across the articles (outlets, languages) that reported it."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    types: Mapped[list[str]] = mapped_column(JsonList, default=list)
    parties: Mapped[list[str]] = mapped_column(JsonList, default=list)
    sectors: Mapped[list[str]] = mapped_column(JsonList, default=list)
    amounts: Mapped[list[dict[str, Any]]] = mapped_column(JsonList, default=list)
    amount_mad: Mapped[float | None] = mapped_column(Float)  # largest amount, in dirhams
    count: Mapped[int] = mapped_column(Integer, default=1)
    signed_on: Mapped[date | None] = mapped_column(Date)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text, default="")


class AgreementRecord(Base):
    """One agreement as one article reports it (a record of the article's verdict)."""

    __tablename__ = "agreement_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    parties: Mapped[list[str]] = mapped_column(JsonList, default=list)
    organisation_ids: Mapped[list[int]] = mapped_column(JsonList, default=list)
    types: Mapped[list[str]] = mapped_column(JsonList, default=list)
    sectors: Mapped[list[str]] = mapped_column(JsonList, default=list)
    amounts: Mapped[list[dict[str, Any]]] = mapped_column(JsonList, default=list)
    count: Mapped[int] = mapped_column(Integer, default=1)
    signed_on: Mapped[date | None] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ux_agreement_records_article", "article_id", "position", unique=True),
        # with the article ids on PostgreSQL: an agreement's articles read from the index alone
        Index(
            "ix_agreement_records_agreement_id", "agreement_id", postgresql_include=["article_id"]
        ),
        # SQLite: a search's agreements read from the index alone (migration 0011)
        Index("ix_agreement_records_article_agreement", "article_id", "agreement_id").ddl_if(
            dialect="sqlite"
        ),
    )


class AgreementParty(Base):
    """An organisation that signed an agreement."""

    __tablename__ = "agreement_parties"

    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (
        Index("ix_agreement_parties_organisation", "organisation_id", "agreement_id"),
    )


class Feedback(Base):
    """An analyst's mark on an article's verdict, with what the rules had said; the newest
    mark of an article decides it, every mark is kept."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    # the agreement the mark is about, while it exists (gone when no article reports it)
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreements.id", ondelete="SET NULL"), index=True
    )
    correct: Mapped[bool] = mapped_column(Boolean)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    parties: Mapped[list[str] | None] = mapped_column(JsonList)  # the corrected record's
    sector: Mapped[str | None] = mapped_column(String(100))
    rules_is_agreement: Mapped[bool] = mapped_column(Boolean)
    rules_version: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
