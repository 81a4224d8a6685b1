"""Read side: filtered articles, stories, full-text search and statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    TextClause,
    and_,
    column,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.db import chunks
from storage.models import Article, CrawlRun, Feed, Source, UrlFailure, appeared
from storage.search import QueryError as QueryError
from storage.search import bare, fts5_match, parse_search, tsquery
from storage.times import iso as iso

DENSE_SEARCH = 2000  # matches from which a search walks the newest articles (SQLite)
PG_DENSE_SEARCH = 10_000  # expected matches from which it does so on PostgreSQL
FTS = table("articles_fts", column("rowid"), column("articles_fts"))  # SQLite FTS5, migration 0004
PG_MATCH = "articles.search @@ to_tsquery('simple', :q)"  # the tsvector column, migration 0004
Condition = ColumnElement[bool] | TextClause  # a WHERE clause (a text one: PostgreSQL's match)
# story_id, id, title, url, source, is_agreement, when: an article of a story, as listed
StoryMember = Row[int | None, int, str | None, str, str, bool | None, datetime]


class ListedSource(Protocol):
    """What feed health reads of a sources-file entry (crawler.core.sources.Source)."""

    @property
    def name(self) -> str: ...
    @property
    def interval(self) -> int: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def feeds(self) -> Sequence[str]: ...
    @property
    def sitemaps(self) -> Sequence[str]: ...


@dataclass
class Filters:
    """What `veille query` narrows the articles to."""

    agreements: bool = False
    since: datetime | None = None
    until: datetime | None = None
    sources: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    search: str | None = None


def _matches(conn: Connection, user_text: str) -> tuple[Condition, Select]:
    """The search condition on articles, and a select of the ids it matches."""
    search = parse_search(user_text)
    if conn.dialect.name == "postgresql":
        condition = text(PG_MATCH).bindparams(q=tsquery(search))
        return condition, select(Article.id).where(condition)
    matches = select(FTS.c.rowid).where(FTS.c.articles_fts.op("MATCH")(fts5_match(search)))
    return Article.id.in_(matches), matches


def _many_matches(conn: Connection, user_text: str, limit: int | None) -> bool:
    """Whether a page of `limit` results is better found by walking the newest articles than
    by sorting every match: when the search matches `dense` articles or more, counted up to
    there. PostgreSQL's GIN index cannot stop counting early, so a word its planner already
    expects to be that common is taken as such without counting."""
    if limit is None:
        return False
    dense = DENSE_SEARCH
    if conn.dialect.name == "postgresql":
        dense = PG_DENSE_SEARCH
        plan = conn.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM articles"
            " WHERE search @@ to_tsquery('simple', %(q)s)",
            {"q": tsquery(parse_search(user_text))},
        ).scalar()
        if plan is not None and plan[0]["Plan"]["Plan Rows"] >= dense:
            return True
    _, ids = _matches(conn, user_text)
    return (
        conn.scalar(select(func.count()).select_from(ids.limit(dense).subquery())) or 0
    ) >= dense


def _search_clause(conn: Connection, user_text: str, many: bool) -> Condition:
    condition, ids = _matches(conn, user_text)
    if many and conn.dialect.name == "sqlite":
        # Walk the newest articles (ix_articles_when) keeping those in the match list;
        # `id + 0` keeps SQLite from looking every match up by id and sorting them all.
        return (Article.id + 0).in_(ids)
    return condition


def json_list_contains(
    conn: Connection, column: InstrumentedAttribute[Any], value: str
) -> ColumnElement[bool]:
    """Whether a JSON list column holds `value` (PostgreSQL jsonb @>, SQLite json_each)."""
    if conn.dialect.name == "postgresql":
        return column.cast(JSONB).contains([value])
    each = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == value))


def _sector_clause(conn: Connection, sector: str) -> ColumnElement[bool]:
    return json_list_contains(conn, Article.sectors, sector)


def apply_filters(conn: Connection, statement: Select, f: Filters, many: bool = False) -> Select:
    """The statement narrowed by every filter, all values as bound parameters."""
    when = appeared()
    clauses: list[Condition] = []
    if f.agreements:
        clauses.append(Article.is_agreement.is_(True))
    if f.since:
        clauses.append(when >= f.since)
    if f.until:
        clauses.append(when < f.until)
    if f.sources:
        clauses.append(func.lower(Source.name).in_([bare(n) for n in f.sources]))
    if f.languages:
        clauses.append(Article.language.in_(f.languages))
    if f.sectors:
        clauses.append(or_(*(_sector_clause(conn, s) for s in f.sectors)))
    if f.search:
        clauses.append(_search_clause(conn, f.search, many))
    return statement.where(and_(*clauses)) if clauses else statement


def newest_first(conn: Connection, statement: Select, f: Filters, limit: int | None) -> Select:
    """The statement filtered and ordered newest first, the way that reads least: a search
    with few matches sorts them, anything else walks ix_articles_when until the page is full."""
    many = f.search is not None and bool(f.search) and _many_matches(conn, f.search, limit)
    when = appeared()
    if f.search and not many and conn.dialect.name == "postgresql":
        when = when + literal_column("interval '0'")  # no index serves it: PostgreSQL sorts
    statement = apply_filters(conn, statement, f, many)
    return statement.order_by(when.desc(), Article.id.desc())


def article_row(article: Article, source: str, with_text: bool) -> dict[str, Any]:
    """One stored article as the query contract spells it."""
    row = {
        "id": article.id,
        "url": article.url,
        "source": source,
        "title": article.title,
        "published_at": iso(article.published_at),
        "fetched_at": iso(article.fetched_at),
        "language": article.language,
        "is_agreement": article.is_agreement,
        "score": article.score,
        "agreement_types": article.agreement_types or [],
        "sectors": article.sectors or [],
        "parties": article.parties or [],
        "amounts": article.amounts or [],
        "evidence": article.evidence or [],
        "story_id": article.story_id,
        "verdict_by": article.verdict_by,  # rules | analyst (crawler/db/feedback.py)
        "agreements": [],  # filled by find_articles from the stored records
    }
    if with_text:
        row["text"] = article.text
    return row


def find_articles(
    engine: Engine, f: Filters, limit: int | None = None, with_text: bool = False
) -> list[dict[str, Any]]:
    """Matching articles, newest first."""
    with Session(engine) as session:
        statement = select(Article, Source.name).join(Source, Source.id == Article.source_id)
        statement = newest_first(session.connection(), statement, f, limit).limit(limit)
        rows = [article_row(a, name, with_text) for a, name in session.execute(statement)]
        from storage.records import records_by_article

        records = records_by_article(session.connection(), [r["id"] for r in rows])
        for row in rows:
            row["agreements"] = records.get(row["id"], [])
        return rows


def find_stories(engine: Engine, f: Filters, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per story among matching articles, newest story first: its outlets, size and
    first and last dates. Walking matching articles newest first, a story's first appearance
    is its latest, so only as many articles are read as it takes to fill the page."""
    when = appeared()
    with engine.connect() as conn:
        newest = newest_first(
            conn, select(Article.story_id).join(Source, Source.id == Article.source_id), f, limit
        )
        ids: list[int] = []
        seen: set[int] = set()
        for (story_id,) in conn.execution_options(stream_results=True, yield_per=500).execute(
            newest
        ):
            if story_id is not None and story_id not in seen:  # None: not grouped yet
                seen.add(story_id)
                ids.append(story_id)
                if limit is not None and len(ids) >= limit:
                    break
        members: dict[int | None, list[StoryMember]] = {}
        for part in chunks(ids):
            rows = conn.execute(
                select(
                    Article.story_id,
                    Article.id,
                    Article.title,
                    Article.url,
                    Source.name,
                    Article.is_agreement,
                    when,
                )
                .join(Source, Source.id == Article.source_id)
                .where(Article.story_id.in_(part))
                .order_by(when, Article.id)
            )
            for row in rows:
                members.setdefault(row[0], []).append(row)
    return [story_row(story_id, members[story_id]) for story_id in ids]


def story_row(story_id: int, rows: list[StoryMember]) -> dict[str, Any]:
    """One story for output, from its articles in order of appearance."""
    first = rows[0]
    return {
        "story_id": story_id,
        "title": first.title,
        "url": first.url,
        "articles": len(rows),
        "sources": list(dict.fromkeys(r.name for r in rows)),
        "first_published_at": iso(first[6]),
        "last_published_at": iso(rows[-1][6]),
        "is_agreement": any(bool(r.is_agreement) for r in rows),
        "article_ids": [r.id for r in rows],
    }


def source_names(engine: Engine) -> list[str]:
    """The names of the sources the database knows."""
    with engine.connect() as conn:
        return list(conn.scalars(select(Source.name).order_by(Source.name)))


def statistics(engine: Engine, runs: int = 10) -> dict[str, Any]:
    """Counts per source and language, the last runs and the feeds' health."""
    day_ago = datetime.now(UTC) - timedelta(days=1)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(Article)) or 0
        agreements = conn.scalar(select(func.count()).where(Article.is_agreement.is_(True))) or 0
        per_source = conn.execute(
            select(
                Source.name,
                func.count(Article.id),
                func.count(Article.id).filter(Article.is_agreement.is_(True)),
                func.max(Article.fetched_at),
            )
            .join(Article, Article.source_id == Source.id, isouter=True)
            .group_by(Source.name)
            .order_by(Source.name)
        ).all()
        per_language = conn.execute(
            select(Article.language, func.count()).group_by(Article.language)
        ).all()
        last_day = conn.execute(
            select(func.count(), func.count().filter(Article.is_agreement.is_(True))).where(
                appeared() >= day_ago
            )
        ).one()
    with Session(engine) as session:
        recent = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(runs)).all()
        feeds = session.execute(
            select(Feed, Source.name)
            .join(Source, Source.id == Feed.source_id)
            .order_by(Source.name, Feed.id)
        ).all()
    return {
        "articles": total,
        "agreements": agreements,
        "last_24h": {"articles": last_day[0], "agreements": last_day[1]},
        "sources": [
            {"source": n, "articles": c, "agreements": a, "last_fetched_at": iso(t)}
            for n, c, a, t in per_source
        ],
        "languages": {lang or "unknown": c for lang, c in per_language},
        "runs": [run_row(r) for r in recent],
        "feeds": with_article_health(engine, [feed_row(r[0], r[1]) for r in feeds]),
    }


def run_row(run: CrawlRun) -> dict[str, Any]:
    """A crawl run for output."""
    return {
        "id": run.id,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "status": run.status,
        "sources": run.sources,
        "counts": run.counts,
        "errors": run.errors,
    }


def feed_row(feed: Feed, source: str) -> dict[str, Any]:
    """A feed's health for output."""
    return {
        "id": feed.id,
        "last_fetched_at": iso(feed.last_fetched_at),
        "status": f"failing ({feed.consecutive_failures})" if feed.consecutive_failures else "ok",
        "source": source,
        "url": feed.url,
        "kind": feed.kind,
        "last_success_at": iso(feed.last_success_at),
        "last_new_item_at": iso(feed.last_new_item_at),
        "last_status": feed.last_status,
        "last_error": feed.last_error,
        "consecutive_failures": feed.consecutive_failures,
    }


def feed_health(engine: Engine, sources: Sequence[ListedSource]) -> list[dict[str, Any]]:
    """Every listing of the sources file with its health as recorded by the crawls."""
    with Session(engine) as session:
        known = {f.url: f for f in session.scalars(select(Feed))}
    now = datetime.now(UTC)
    rows = []
    for source in sources:
        quiet_after = max(timedelta(days=1), timedelta(seconds=10 * source.interval))
        for kind, urls in (("feed", source.feeds), ("sitemap", source.sitemaps)):
            for url in urls:
                feed = known.get(url)
                row = (
                    feed_row(feed, source.name)
                    if feed
                    else {
                        "source": source.name,
                        "url": url,
                        "kind": kind,
                        "last_success_at": None,
                        "last_new_item_at": None,
                        "last_status": None,
                        "last_error": None,
                        "consecutive_failures": 0,
                    }
                )
                row["status"] = feed_status(feed, now, quiet_after, source.enabled)
                rows.append(row)
    return with_article_health(engine, rows)


def last_runs_by_source(
    conn: Connection, lookback: int = 200
) -> dict[str, tuple[datetime, dict[str, Any]]]:
    """Per source, the start and counts of the last finished crawl that included it."""
    runs = conn.execute(
        select(CrawlRun.started_at, CrawlRun.sources, CrawlRun.counts)
        .where(CrawlRun.status != "running")
        .order_by(CrawlRun.id.desc())
        .limit(lookback)
    )
    out: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for started_at, names, counts in runs:
        for name in names or []:
            out.setdefault(name, (started_at, (counts or {}).get(name) or {}))
    return out


def articles_all_failed(engine: Engine) -> dict[int, int]:
    """Per feed whose articles all failed in the last crawl of its source (it stored none,
    and the feed's article URLs failed): how many failed. A feed that answers but whose
    every article page fails is failing too."""
    out: dict[int, int] = {}
    with engine.connect() as conn:
        for name, (started_at, counts) in last_runs_by_source(conn).items():
            if counts.get("new", 0) or not counts.get("errors", 0):
                continue
            failed = (
                select(UrlFailure.feed_id, func.count())
                .join(Source, Source.id == UrlFailure.source_id)
                .where(
                    Source.name == name,
                    UrlFailure.feed_id.is_not(None),
                    UrlFailure.last_attempt_at >= started_at,
                )
                .group_by(UrlFailure.feed_id)
            )
            out.update({feed: n for feed, n in conn.execute(failed).all() if feed is not None})
    return out


def with_article_health(engine: Engine, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Feed rows whose articles all failed get status `failing (N articles)`."""
    failed = articles_all_failed(engine)
    for row in rows:
        n = failed.get(row.get("id"))  # type: ignore[arg-type]
        if n and not row["status"].startswith(("failing", "disabled")):
            row["status"] = f"failing ({n} article(s) failed)"
    return rows


def recent_failures(
    engine: Engine, sources: list[str], since: datetime | None, limit: int | None
) -> list[dict[str, Any]]:
    """Failed article URLs and failing listings, newest first, with their reasons."""
    articles = (
        select(
            UrlFailure.last_attempt_at,
            Source.name,
            UrlFailure.gone,
            UrlFailure.attempts,
            UrlFailure.status,
            UrlFailure.url,
            UrlFailure.error,
        )
        .join(Source, Source.id == UrlFailure.source_id)
        .order_by(UrlFailure.last_attempt_at.desc())
    )
    listings = (
        select(
            Feed.last_fetched_at,
            Source.name,
            Feed.kind,
            Feed.consecutive_failures,
            Feed.last_status,
            Feed.url,
            Feed.last_error,
        )
        .join(Source, Source.id == Feed.source_id)
        .where(Feed.consecutive_failures > 0)
    )
    if sources:
        names = [bare(n) for n in sources]
        articles = articles.where(func.lower(Source.name).in_(names))
        listings = listings.where(func.lower(Source.name).in_(names))
    if since:
        articles = articles.where(UrlFailure.last_attempt_at >= since)
        listings = listings.where(Feed.last_fetched_at >= since)
    with engine.connect() as conn:
        rows = [
            {
                "last_attempt_at": iso(r[0] and r[0].replace(microsecond=0)),
                "source": r[1],
                "kind": "gone" if r[2] else "article",
                "attempts": r[3],
                "status": r[4],
                "url": r[5],
                "error": r[6],
            }
            for r in conn.execute(articles.limit(limit))
        ]
        rows += [
            {
                "last_attempt_at": iso(r[0] and r[0].replace(microsecond=0)),
                "source": r[1],
                "kind": r[2],
                "attempts": r[3],
                "status": r[4],
                "url": r[5],
                "error": r[6],
            }
            for r in conn.execute(listings)
        ]
    rows.sort(key=lambda r: r["last_attempt_at"] or "", reverse=True)
    return rows[:limit]


def article_by_id(engine: Engine, article_id: int) -> dict[str, Any] | None:
    """One stored article, as `veille query --with-text` gives it (its records too), or None."""
    from storage.records import records_by_article

    with Session(engine) as session:
        found = session.execute(
            select(Article, Source.name)
            .join(Source, Source.id == Article.source_id)
            .where(Article.id == article_id)
        ).first()
        if found is None:
            return None
        row = article_row(found[0], found[1], with_text=True)
        row["agreements"] = records_by_article(session.connection(), [article_id]).get(
            article_id, []
        )
    return row


def feed_status(feed: Feed | None, now: datetime, quiet_after: timedelta, enabled: bool) -> str:
    """ok, failing (n), silent, never fetched, or disabled."""
    if not enabled:
        return "disabled"
    if feed is None or feed.last_fetched_at is None:
        return "never fetched"
    if feed.consecutive_failures:
        return f"failing ({feed.consecutive_failures})"
    last_new = feed.last_new_item_at
    if last_new is not None and now - last_new > quiet_after:
        return "silent"
    return "ok"


def story_articles(engine: Engine, story_id: int) -> list[dict[str, Any]]:
    """Every article of a story, in order of appearance: id, title, outlet, language, when."""
    when = appeared()
    with engine.connect() as conn:
        rows = conn.execute(
            select(Article.id, Article.title, Source.name, Article.language, when)
            .join(Source, Source.id == Article.source_id)
            .where(Article.story_id == story_id)
            .order_by(when, Article.id)
        ).all()
    return [
        {"id": i, "title": t, "source": s, "language": lang, "published_at": iso(w)}
        for i, t, s, lang, w in rows
    ]


def counts_since(engine: Engine, since: datetime) -> dict[str, tuple[int, int]]:
    """Per source, the articles that appeared since then and how many report an agreement."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return _counts_from_indexes(conn, since)
        rows = conn.execute(
            select(
                Source.name,
                func.count(Article.id),
                func.count(Article.id).filter(Article.is_agreement.is_(True)),
            )
            .join(Article, Article.source_id == Source.id)
            .where(appeared() >= since)
            .group_by(Source.name)
        ).all()
    return {name: (n, a) for name, n, a in rows}


def _counts_from_indexes(conn: Connection, since: datetime) -> dict[str, tuple[int, int]]:
    """SQLite's counts, each from one index: a source's range of ix_articles_source_when, and
    ix_articles_agreement_when's range grouped by source, so that only the rows of articles
    that report an agreement are read (joined, every recent article's row was: 170 ms for
    80,000 of 1,000,000, against 18). PostgreSQL cannot count from an index on an expression
    without reading the rows, and joins faster."""
    recent = (
        select(func.count())
        .where(Article.source_id == Source.id, appeared() >= since)
        .scalar_subquery()
    )
    totals = conn.execute(select(Source.id, Source.name, recent)).all()
    agreements = dict(
        conn.execute(
            select(Article.source_id, func.count())
            .where(Article.is_agreement.is_(True), appeared() >= since)
            .group_by(Article.source_id)
        ).all()
    )
    return {name: (n, agreements.get(id_, 0)) for id_, name, n in totals if n}
