"""What a crawl writes: articles in batches, feed state after its items, failures, health.

One CrawlStore per spider. Writes are queued and flushed in one transaction per batch, in
order, so a feed's validators are committed only with (or after) the articles it listed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, String, Table, bindparam, select, update
from sqlalchemy.exc import DBAPIError

from crawler.core import stories
from crawler.core.common import as_utc
from crawler.core.sources import Source
from crawler.db.agreements import Reported, lede, store_records
from crawler.db.scratch import Claims
from crawler.items import ArticleItem
from storage.db import chunks, dialect_insert, insert_plain, writing
from storage.models import Article, ArticleAlias, Feed, StoryBand, UrlFailure, appeared
from storage.models import Source as SourceRow

logger = logging.getLogger(__name__)

GONE_STATUSES = {404, 410}


def story_date(item: ArticleItem) -> datetime:
    """When an article appeared, for the story window: published, else fetched."""
    return item.published_at or item.fetched_at


def reported(item: ArticleItem, article_id: int) -> Reported:
    """A new article's verdict for the agreements step (no records unless positive)."""
    verdict = item.verdict or {}
    return Reported(
        article_id,
        story_date(item),
        item.published_at,
        item.language,
        lede(item.title, item.lead, item.text),
        verdict.get("score"),
        verdict.get("agreements") or [] if verdict.get("is_agreement") else [],
    )


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def _clean(value: Any, limit: int | None) -> Any:
    """A value without NUL characters (in strings, lists and dicts), cut to `limit` if a string."""
    if isinstance(value, str):
        value = value.replace("\0", "") if "\0" in value else value
        return value[:limit] if limit is not None else value
    if isinstance(value, list):
        return [_clean(v, None) for v in value]
    if isinstance(value, dict):
        return {_clean(k, None): _clean(v, None) for k, v in value.items()}
    return value


def fit(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A row as every backend stores it: the one rule for SQLite (which would keep anything)
    and PostgreSQL (which refuses a NUL or an over-long value, and with it the batch): NUL
    removed everywhere, a string cut to its column's length."""
    limits = _string_lengths(table)
    return {
        key: _clean(value, limits.get(key)) if isinstance(value, str | list | dict) else value
        for key, value in row.items()
    }


@cache
def _string_lengths(table: Table) -> dict[str, int | None]:
    """The length of each string column of a table (None: unbounded), read from its
    SQLAlchemy columns once, not for every value of every row."""
    return {c.key: c.type.length for c in table.c if isinstance(c.type, String)}


def insert_ignore(conn: Connection, table: Table, rows: list[dict], keys: list[str]) -> None:
    """Insert rows, skipping those whose key already exists (safe under concurrent writers)."""
    if rows:
        rows = [fit(table, row) for row in rows]
        conn.execute(dialect_insert(conn, table).on_conflict_do_nothing(index_elements=keys), rows)


def ids_by_url(conn: Connection, urls: list[str]) -> dict[str, int]:
    """Article ids of the URLs stored as an article's URL or as one of its aliases."""
    found: dict[str, int] = {}
    for part in chunks(urls):
        found.update(
            conn.execute(select(Article.url, Article.id).where(Article.url.in_(part))).all()
        )
        found.update(
            conn.execute(
                select(ArticleAlias.url, ArticleAlias.article_id).where(ArticleAlias.url.in_(part))
            ).all()
        )
    return found


@dataclass(frozen=True)
class FeedState:
    """What the store knows of a feed before fetching it."""

    id: int
    source: str
    url: str
    kind: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None


@dataclass
class _Batch:
    articles: list[ArticleItem] = field(default_factory=list)
    feed_updates: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # url -> the article URL it stands for

    def __len__(self) -> int:
        return len(self.articles) + len(self.feed_updates) + len(self.failures) + len(self.aliases)

    def one_by_one(self) -> list[_Batch]:
        """The batch as batches of one write each, in its order: feed state last."""
        return (
            [_Batch(articles=[a]) for a in self.articles]
            + [_Batch(aliases={u: t}) for u, t in self.aliases.items()]
            + [_Batch(failures=[f]) for f in self.failures]
            + [_Batch(feed_updates=[f]) for f in self.feed_updates]
        )


def sync_sources(engine: Engine, sources: list[Source]) -> dict[str, FeedState]:
    """Make sure every source and feed of the file has its row; return feed state by URL."""
    with writing(engine) as conn:
        insert_ignore(
            conn,
            SourceRow.__table__,
            [{"name": s.name, "language": s.language} for s in sources],
            ["name"],
        )
        ids = dict(conn.execute(select(SourceRow.name, SourceRow.id)).all())
        feed_rows = [
            {"source_id": ids[s.name], "url": url, "kind": kind, "consecutive_failures": 0}
            for s in sources
            for kind, urls in (("feed", s.feeds), ("sitemap", s.sitemaps))
            for url in urls
        ]
        insert_ignore(conn, Feed.__table__, feed_rows, ["url"])
        names = {v: k for k, v in ids.items()}
        wanted = [row["url"] for row in feed_rows]
        states: dict[str, FeedState] = {}
        for urls in chunks(wanted):
            for f in conn.execute(select(Feed).where(Feed.url.in_(urls))).mappings():
                states[f["url"]] = FeedState(
                    f["id"],
                    names[f["source_id"]],
                    f["url"],
                    f["kind"],
                    f["etag"],
                    f["last_modified"],
                    f["body_hash"],
                )
    return states


class CrawlStore:
    """The database side of one spider run."""

    def __init__(self, engine: Engine, sources: list[Source], batch_size: int = 50) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.sources = {s.name: s for s in sources}
        self.feeds = sync_sources(engine, sources)
        self.claimed = Claims()  # on disk: a backfill claims 100,000 URLs
        with engine.connect() as conn:
            self.source_ids: dict[str, int] = dict(
                conn.execute(select(SourceRow.name, SourceRow.id)).all()
            )
        self._batch = _Batch()
        self.counts: dict[str, Counter[str]] = {}
        self.write_errors: list[str] = []
        self.on_queued: Callable[[], None] | None = None  # told when a write is queued

    def _queued(self) -> None:
        if self.on_queued is not None:
            self.on_queued()

    def count(self, source: str, key: str, n: int = 1) -> None:
        """Add to a per-source counter (feeds read, new articles, agreements, errors...)."""
        self.counts.setdefault(source, Counter())[key] += n

    # -- reading, before fetching ------------------------------------------------------------

    def claim(self, source: str, entries: dict[str, Any]) -> list[str]:
        """The listed URLs to fetch: not stored, not gone, not claimed earlier in this process.

        `entries` maps canonical URLs to listing entries. Entries of one source with the same
        title and date are fetched each: "Revue de presse du jour" is a new article every day
        under one title; only the same text (the content hash, when stored) makes them one.
        """
        fresh = self.unknown(self.claimed.unclaimed(entries))
        self.claimed.add(fresh)
        return fresh

    def unknown(self, urls: Iterable[str]) -> list[str]:
        """The canonical URLs not stored (as article or alias) and not gone; order kept."""
        wanted = list(dict.fromkeys(urls))
        with self.engine.connect() as conn:
            known = set(ids_by_url(conn, wanted))
            for part in chunks(wanted):
                known.update(
                    conn.scalars(
                        select(UrlFailure.url).where(UrlFailure.url.in_(part), UrlFailure.gone)
                    )
                )
        pending = {item.url for item in self._batch.articles} | {
            a for item in self._batch.articles for a in item.aliases
        }
        return [u for u in wanted if u not in known and u not in pending]

    def retries(self, feed_ids: list[int], max_attempts: int) -> list[UrlFailure]:
        """Article URLs found in these feeds that failed on an earlier run and deserve a retry."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(UrlFailure).where(
                    UrlFailure.feed_id.in_(feed_ids),
                    ~UrlFailure.gone,
                    UrlFailure.attempts < max_attempts,
                )
            )
            return [UrlFailure(**dict(r._mapping)) for r in rows]

    # -- queueing ----------------------------------------------------------------------------

    def add_article(self, item: ArticleItem) -> None:
        """Queue an extracted, classified article."""
        self._batch.articles.append(item)
        if len(self._batch.articles) >= self.batch_size:
            self.flush()
        else:
            self._queued()

    def feed_fetched(
        self,
        feed_id: int,
        status: int,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        body_hash: str | None = None,
        new_items: int = 0,
        poll_hint: int | None = None,
    ) -> None:
        """Queue a feed's success; its validators land with or after its items."""
        stamp = now()
        values: dict[str, Any] = {
            "id": feed_id,
            "last_status": status,
            "last_error": None,
            "last_fetched_at": stamp,
            "last_success_at": stamp,
            "consecutive_failures": 0,
            "retry_after_at": None,
            "poll_hint_seconds": poll_hint,
        }
        if body_hash is not None:
            values.update(etag=etag, last_modified=last_modified, body_hash=body_hash)
        if new_items:
            values["last_new_item_at"] = stamp
        self._batch.feed_updates.append(values)
        self._queued()

    def feed_failed(
        self, feed_id: int, status: int | None, error: str, retry_after: float | None = None
    ) -> None:
        """Queue a feed's failure (its validators stay as they were)."""
        stamp = now()
        self._batch.feed_updates.append(
            {
                "id": feed_id,
                "last_status": status,
                "last_error": error[:2000],
                "last_fetched_at": stamp,
                "retry_after_at": stamp + timedelta(seconds=retry_after) if retry_after else None,
                "failed": True,
            }
        )
        self._queued()

    def article_failed(
        self,
        url: str,
        source: str,
        feed_id: int | None,
        status: int | None,
        error: str,
        *,
        address: str | None = None,
        feed_title: str | None = None,
        feed_date: datetime | None = None,
        gone: bool | None = None,
    ) -> None:
        """Queue an article that could not be stored, under its canonical key `url`, with the
        `address` it was requested at (retried later unless gone)."""
        self._batch.failures.append(
            {
                "url": url,
                "address": address if address != url else None,
                "source_id": self.source_ids[source],
                "feed_id": feed_id,
                "status": status,
                "error": error[:2000],
                "attempts": 1,
                "gone": status in GONE_STATUSES if gone is None else gone,
                "last_attempt_at": now(),
                "feed_title": feed_title,
                "feed_date": feed_date,
            }
        )
        if len(self._batch) >= self.batch_size:
            self.flush()
        else:
            self._queued()

    def add_alias(self, url: str, target: str) -> None:
        """Queue `url` as another address of the article stored (or being stored) at `target`."""
        if url != target:
            self._batch.aliases[url] = target
            self._queued()

    # -- writing -----------------------------------------------------------------------------

    def flush(self) -> list[tuple[ArticleItem, int]]:
        """Write everything queued in one transaction; return (item, id) of new articles."""
        batch, self._batch = self._batch, _Batch()
        if not len(batch):
            return []
        try:
            stored, waiting = self._write_again_if_disconnected(batch)
        except Exception as exc:  # any exception of a write path is a lost batch, never the crawl
            if len(batch) == 1 or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
                return self._lost(batch, exc)
            logger.warning(
                "a batch of %d writes failed (%s); writing them one by one", len(batch), exc
            )
            stored, waiting = [], {}
            for one in batch.one_by_one():  # so that one bad row costs only itself
                try:
                    done, later = self._write_again_if_disconnected(one)
                except Exception as again:
                    self._lost(one, again)
                    continue
                stored += done
                waiting.update(later)
        for url, target in waiting.items():  # their article is not stored yet: next time
            self._batch.aliases.setdefault(url, target)
        new = {id(item) for item, _ in stored}
        for item in batch.articles:
            self.count(item.source, "new" if id(item) in new else "duplicates")
            if id(item) in new and item.verdict.get("is_agreement"):
                self.count(item.source, "agreements")
        return stored

    def _write_again_if_disconnected(
        self, batch: _Batch
    ) -> tuple[list[tuple[ArticleItem, int]], dict[str, str]]:
        """`_write`, done once more on a fresh connection if the connection was lost."""
        try:
            return self._write(batch)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            logger.warning("database connection lost; writing the batch again")
            return self._write(batch)

    def _write(self, batch: _Batch) -> tuple[list[tuple[ArticleItem, int]], dict[str, str]]:
        """One transaction: articles, aliases, failures, then feed state."""
        with writing(self.engine) as conn:
            stored = self._write_articles(conn, batch.articles)
            waiting = self._write_aliases(conn, batch.aliases)
            self._write_failures(
                conn, batch.failures, [u for i in batch.articles for u in (i.url, *i.aliases)]
            )
            self._write_feeds(conn, batch.feed_updates)
        return stored, waiting

    def _lost(self, batch: _Batch, exc: Exception) -> list:
        """Record a batch that could not be written. Nothing of it is marked as read (feeds
        keep their old validators), so the next crawl fetches it again."""
        reason = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0]
        which = f" ({batch.articles[0].url})" if len(batch.articles) == 1 else ""
        message = f"could not store {len(batch.articles)} article(s){which}: {reason}"
        logger.error(message)
        self.write_errors.append(message)
        return []

    def _write_articles(self, conn: Connection, items: list[ArticleItem]) -> list:
        if not items:
            return []
        existing = self.existing(conn, items)
        aliases: list[dict] = []
        fresh: list[ArticleItem] = []
        claimed: dict[str, ArticleItem] = {}
        for item in items:
            keys = [item.url, *item.aliases, "#" + item.content_hash]
            owner = next((existing[k] for k in keys if k in existing), None)
            if owner is not None:
                aliases += [{"url": u, "article_id": owner} for u in (item.url, *item.aliases)]
                continue
            twin = next((claimed[k] for k in keys if k in claimed), None)
            if twin is not None:
                twin.aliases |= {item.url, *item.aliases} - {twin.url}
                continue
            for k in keys:
                claimed[k] = item
            fresh.append(item)
        stored = self._insert_fresh(conn, fresh, aliases)
        insert_ignore(
            conn,
            ArticleAlias.__table__,
            [a for a in {a["url"]: a for a in aliases}.values()],
            ["url"],
        )
        return stored

    def _write_aliases(self, conn: Connection, aliases: dict[str, str]) -> dict[str, str]:
        """Record queued aliases whose article is stored; return the others (still in flight)."""
        ids = ids_by_url(conn, list(set(aliases.values())))
        rows = [{"url": u, "article_id": ids[t]} for u, t in aliases.items() if t in ids]
        insert_ignore(conn, ArticleAlias.__table__, rows, ["url"])
        return {u: t for u, t in aliases.items() if t not in ids}

    def existing(self, conn: Connection, items: list[ArticleItem]) -> dict[str, int]:
        """Article ids already stored under any of the batch's URLs, aliases or text hashes."""
        found = ids_by_url(conn, list({u for i in items for u in (i.url, *i.aliases)}))
        hashes = list({i.content_hash for i in items if i.content_hash})
        for part in chunks(hashes):
            rows = conn.execute(
                select(Article.content_hash, Article.id).where(Article.content_hash.in_(part))
            )
            found.update({"#" + h: i for h, i in rows})
        return found

    def _insert_fresh(
        self, conn: Connection, fresh: list[ArticleItem], aliases: list[dict]
    ) -> list[tuple[ArticleItem, int]]:
        if not fresh:
            return []
        rows = [fit(Article.__table__, self._row(item)) for item in fresh]
        statement = (
            dialect_insert(conn, Article.__table__)
            .on_conflict_do_nothing(index_elements=["url"])
            .returning(Article.__table__.c.id, Article.__table__.c.url)
        )
        ids = {url: id_ for id_, url in conn.execute(statement, rows)}
        stored, lost = [], []
        for item in fresh:
            if item.url in ids:
                stored.append((item, ids[item.url]))
                aliases += [{"url": u, "article_id": ids[item.url]} for u in item.aliases]
            else:
                lost.append(item)  # another writer stored it between our check and insert
        if lost:
            winners = dict(
                conn.execute(
                    select(Article.url, Article.id).where(Article.url.in_([i.url for i in lost]))
                ).all()
            )
            aliases += [{"url": u, "article_id": winners[i.url]} for i in lost for u in i.aliases]
        self._assign_stories(conn, stored)
        store_records(conn, [reported(item, id_) for item, id_ in stored])
        return stored

    def _row(self, item: ArticleItem) -> dict[str, Any]:
        verdict = item.verdict
        return {
            "url": item.url,
            "source_id": self.source_ids[item.source],
            "title": item.title,
            "author": item.author,
            "lead": item.lead,
            "text": item.text,
            "published_at": item.published_at,
            "published_claimed": item.published_claimed,
            "canonical_hint": item.canonical_hint,
            "fetched_at": item.fetched_at,
            "language": item.language,
            "content_hash": item.content_hash,
            "is_agreement": verdict.get("is_agreement"),
            "score": verdict.get("score"),
            "agreement_types": verdict.get("agreement_types", []),
            "sectors": verdict.get("sectors", []),
            "parties": verdict.get("parties", []),
            "amounts": verdict.get("amounts", []),
            "evidence": verdict.get("evidence", []),
            "rules_version": item.rules_version,
            "story_id": None,
            "signature": item.signature,
        }

    def _assign_stories(self, conn: Connection, stored: list[tuple[ArticleItem, int]]) -> None:
        """Give each new article the story of its nearest stored near-duplicate, or its own."""
        story_of, bands = self.match_stories(conn, stored)
        if story_of:
            conn.execute(
                update(Article.__table__).where(Article.__table__.c.id == bindparam("b_id")),
                [{"b_id": k, "story_id": v} for k, v in story_of.items()],
            )
        insert_plain(
            conn,
            dialect_insert(conn, StoryBand.__table__)
            .values(key=bindparam("key"), article_id=bindparam("article_id"))
            .on_conflict_do_nothing(index_elements=["key", "article_id"]),
            bands,
        )

    def match_stories(
        self, conn: Connection, stored: list[tuple[ArticleItem, int]]
    ) -> tuple[dict[int, int], list[dict]]:
        """Story id for each (item, id), and the band rows to index them under; reads only."""
        keyed = [
            (item, id_, stories.band_keys(item.signature)) for item, id_ in stored if item.signature
        ]
        all_keys = list({k for _, _, keys in keyed for k in keys})
        window = timedelta(days=stories.CANDIDATE_WINDOW_DAYS)
        dates = [story_date(item) for item, _, _ in keyed]
        by_key: dict[int, set[int]] = {}
        when: dict[int, datetime] = {}
        when_column = appeared()
        for part in chunks(all_keys) if dates else ():
            rows = conn.execute(
                select(StoryBand.key, StoryBand.article_id, when_column)
                .join(Article, Article.id == StoryBand.article_id)
                .where(
                    StoryBand.key.in_(part),
                    when_column >= min(dates) - window,
                    when_column <= max(dates) + window,
                )
            )
            for key, article_id, at in rows:
                by_key.setdefault(key, set()).add(article_id)
                when[article_id] = as_utc(at)
        candidate_ids = list({a for ids in by_key.values() for a in ids})
        known: dict[int, tuple[bytes, int]] = {}
        for part in chunks(candidate_ids):
            for id_, sig, story in conn.execute(
                select(Article.id, Article.signature, Article.story_id).where(Article.id.in_(part))
            ):
                known[id_] = (sig, story or id_)
        story_of: dict[int, int] = {}
        bands: list[dict] = []
        for (item, id_, keys), at in zip(keyed, dates, strict=True):
            candidates = [
                a
                for a in {a for k in keys for a in by_key.get(k, ())}
                if abs(when[a] - at) <= window
            ]
            story_of[id_] = id_
            if candidates:
                sims = stories.similarities(item.signature, [known[a][0] for a in candidates])
                best = max(range(len(candidates)), key=lambda i: sims[i])
                if sims[best] >= stories.THRESHOLD:
                    story_of[id_] = known[candidates[best]][1]
            known[id_] = (item.signature, story_of[id_])
            when[id_] = at
            for k in keys:
                by_key.setdefault(k, set()).add(id_)
            bands += [{"key": k, "article_id": id_} for k in keys]
        for id_ in (i for _, i in stored if i not in story_of):
            story_of[id_] = id_
        return story_of, bands

    def _write_failures(self, conn: Connection, failures: list[dict], succeeded: list[str]) -> None:
        if succeeded:
            for part in chunks(succeeded):
                conn.execute(UrlFailure.__table__.delete().where(UrlFailure.url.in_(part)))
        rows = [fit(UrlFailure.__table__, f) for f in {f["url"]: f for f in failures}.values()]
        if not rows:
            return
        statement = dialect_insert(conn, UrlFailure.__table__)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["url"],
                set_={
                    "address": statement.excluded.address,
                    "status": statement.excluded.status,
                    "error": statement.excluded.error,
                    "gone": statement.excluded.gone,
                    "last_attempt_at": statement.excluded.last_attempt_at,
                    "attempts": UrlFailure.__table__.c.attempts + 1,
                },
            ),
            rows,
        )

    def _write_feeds(self, conn: Connection, updates: list[dict]) -> None:
        table = Feed.__table__
        for values in updates:
            values = dict(values)
            feed_id = values.pop("id")
            if self.write_errors:
                # A batch of this run was lost: its feed may be this one. Without validators
                # the next crawl reads the feed again and fetches what was lost.
                for key in ("etag", "last_modified", "body_hash"):
                    values.pop(key, None)
            if values.pop("failed", False):
                values["consecutive_failures"] = table.c.consecutive_failures + 1
            conn.execute(update(table).where(table.c.id == feed_id).values(**fit(table, values)))
