"""A veille database of N generated articles, for the query benchmark and crawl prefills.

    python -m bench.gendb --articles 1000000 --db sqlite          # bench/out/query-1000000.sqlite3
    python -m bench.gendb --articles 500000 --db sqlite --bands-days 7
    python -m bench.gendb --articles 1000000 --db postgresql       # schema bench_query_1000000

The schema is veille's own (storage.db.open_database runs the migrations); rows go in with
SQLAlchemy core executemany, in batches of --batch (one transaction each, generated and
written by --workers processes), ids explicit. Secondary indexes are
dropped for the load and re-created afterwards with their exact stored definitions
(sqlite_master / pg_indexes); the SQLite FTS5 triggers stay in place, so articles_fts is
filled as veille fills it. PostgreSQL gets VACUUM ANALYZE afterwards (what autovacuum would
do); SQLite is left as veille leaves it (no ANALYZE).

Articles: 40 sources (fr 50 %, ar 30 %, en 20 %), titles and texts of 200-400 words built
from the dev corpus sentences (bench.world's pools, words swapped), ~10 % agreements with
types, sectors, parties and evidence, published over the year before now (roughly in id
order, as a crawl stores them; 1 % without a date), story_id = own id for ~92 %, the rest
joining a story of one of the 30 previous articles. signature is NULL; with --bands-days D,
the articles of the last D days get 64 random story_bands keys each (the story index a
crawl would compare new articles against).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from bench.world import LANG_CYCLE, OUTLET_NAMES, SECTIONS, pools, renumber, slugify, vary
from storage.db import make_engine, open_database
from storage.models import Article, Source, StoryBand

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECTORS = [
    "automobile", "aéronautique", "textile", "agroalimentaire", "chimie", "pharmaceutique",
    "énergies renouvelables", "hydrogène vert", "ferroviaire", "mines", "électronique",
    "cuir", "batteries", "plasturgie", "métallurgie",
]  # fmt: skip
TYPES = ["convention", "mémorandum d'entente", "contrat-programme", "accord d'investissement",
         "joint-venture", "partenariat"]  # fmt: skip
PARTIES = ["OCP", "ONCF", "AMDIE", "Renault Group", "Stellantis", "Masen", "CGEM", "IMANOR",
           "Tanger Med", "OFPPT", "Nordline Cabling", "Atlas BioPharm", "Helion Materials"]  # fmt: skip


def url_for(kind: str, n: int) -> str:
    if kind == "sqlite":
        return f"sqlite:///{OUT / f'query-{n}.sqlite3'}"
    return f"{PG_BASE}?options=-csearch_path%3Dbench_query_{n}"


class Texts:
    """Pools of varied paragraphs and titles per language, drawn from once per article."""

    def __init__(self, rng: random.Random, size: int = 4000) -> None:
        p = pools()
        self.paragraphs: dict[str, list[str]] = {}
        self.titles: dict[str, list[str]] = {}
        self.agreement_openings: dict[str, list[tuple[str, str]]] = {}
        for lang in ("fr", "ar", "en"):
            sents, words = p.sentences[lang], p.vocab[lang]
            self.paragraphs[lang] = [
                " ".join(vary(s, rng, words) for s in rng.sample(sents, rng.randint(2, 4)))
                for _ in range(size)
            ]
            self.titles[lang] = [
                vary(rng.choice(p.titles[lang]), rng, words, 0.4) for _ in range(size)
            ]
            self.agreement_openings[lang] = [
                (renumber(b["title"], rng), " ".join(renumber(s, rng) for s in b["opening"]))
                for b in p.positives[lang]
                for _ in range(20)
            ]


_TEXTS: dict[int, Texts] = {}
_ENGINES: dict[str, object] = {}


def write(engine, rows: list[dict], band_rows: list[dict]) -> None:
    with engine.begin() as conn:
        conn.execute(Article.__table__.insert(), rows)
        if band_rows:
            conn.execute(StoryBand.__table__.insert(), band_rows)


def load_batch(job: tuple) -> tuple[int, int, tuple | None]:
    """Generate articles [lo, hi) in a worker process; insert them there in one transaction
    (PostgreSQL) or hand them back to the single writer (SQLite)."""
    url, n, lo, hi, seed, start_iso, now_iso, bands_since_iso = job
    if seed not in _TEXTS:
        _TEXTS[seed] = Texts(random.Random(seed))
    if url not in _ENGINES and not url.startswith("sqlite"):
        _ENGINES[url] = make_engine(url)
    texts, engine = _TEXTS[seed], _ENGINES.get(url)
    rng = random.Random(f"{seed}:{lo}")
    start, now = datetime.fromisoformat(start_iso), datetime.fromisoformat(now_iso)
    bands_since = datetime.fromisoformat(bands_since_iso) if bands_since_iso else None
    langs = [LANG_CYCLE[i % 10] for i in range(len(OUTLET_NAMES))]
    rows, band_rows = [], []
    for k in range(lo, hi):
        id_ = k + 1
        s = rng.randrange(len(OUTLET_NAMES))
        lang = langs[s]
        agreement = rng.random() < 0.10
        paras = rng.sample(texts.paragraphs[lang], rng.randint(3, 5))
        if agreement:
            title, opening = rng.choice(texts.agreement_openings[lang])
            paras.insert(0, opening)
        else:
            title = rng.choice(texts.titles[lang])
        published = start + timedelta(seconds=365 * 86400 * k / n - rng.uniform(0, 2 * 86400))
        fetched = min(published + timedelta(seconds=rng.uniform(60, 7200)), now)
        if rng.random() < 0.01:
            published = None
        story = id_ - rng.randint(1, 30) if k > 30 and rng.random() < 0.08 else id_
        body = "\n".join(paras)
        rows.append(
            {
                "id": id_,
                "url": f"https://{OUTLET_NAMES[s]}.ma/{rng.choice(SECTIONS[lang])}/"
                f"{slugify(title)[:60]}-{id_}.html",
                "source_id": s + 1,
                "title": title,
                "author": None,
                "lead": rng.choice(texts.paragraphs[lang]).split(". ")[0]
                if rng.random() < 0.4
                else None,
                "text": body,
                "published_at": published,
                "fetched_at": fetched,
                "language": lang,
                "content_hash": hashlib.blake2b(body.encode(), digest_size=32).hexdigest(),
                "is_agreement": agreement,
                "score": round(rng.uniform(0.5, 1.0) if agreement else rng.uniform(0, 0.3), 3),
                "agreement_types": rng.sample(TYPES, rng.randint(1, 2)) if agreement else [],
                "sectors": rng.sample(SECTORS, rng.randint(1, 2)) if agreement else [],
                "parties": rng.sample(PARTIES, rng.randint(2, 3)) if agreement else [],
                "amounts": [
                    {
                        "value": rng.randint(1, 900) * 10**6,
                        "currency": "MAD",
                        "text": "millions de dirhams",
                    }
                ]
                if agreement
                else [],
                "evidence": [paras[0][:300]] if agreement else [],
                "rules_version": "bench",
                "story_id": story,
                "signature": None,
            }
        )
        if bands_since and (published or fetched) >= bands_since:
            band_rows += [{"key": rng.getrandbits(63), "article_id": id_} for _ in range(64)]
    if url.startswith("sqlite"):
        return hi, len(band_rows), (rows, band_rows)
    write(engine, rows, band_rows)
    return hi, len(band_rows), None


def drop_indexes(conn, dialect: str) -> list[str]:
    """Drop the secondary indexes of articles (and story_bands); return how to re-create them."""
    if dialect == "sqlite":
        rows = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
                "AND tbl_name IN ('articles', 'story_bands')"
            )
        ).all()
    else:
        rows = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename IN ('articles', 'story_bands') AND indexname LIKE 'ix_%'"
            )
        ).all()
    for name, _ in rows:
        conn.execute(text(f"DROP INDEX {name}"))
    return [sql for _, sql in rows]


def build(
    kind: str, n: int, batch: int = 5000, seed: int = 11, bands_days: float = 0, workers: int = 2
) -> dict:
    """Create (or reuse) the database; returns what it holds and how long it took."""
    url = url_for(kind, n)
    OUT.mkdir(parents=True, exist_ok=True)
    if kind == "postgresql":
        with create_engine(PG_BASE).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS bench_query_{n}"))
    engine = open_database(url)
    with engine.connect() as conn:
        have = conn.scalar(select(func.count()).select_from(Article)) or 0
    if have >= n:
        return {"url": url, "articles": have, "cached": True}
    if have:
        raise SystemExit(f"{url} holds {have} articles, not {n}: delete it first")
    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365)
    langs = [LANG_CYCLE[i % 10] for i in range(len(OUTLET_NAMES))]
    with engine.begin() as conn:
        conn.execute(
            Source.__table__.insert(),
            [{"id": i + 1, "name": nm, "language": langs[i]} for i, nm in enumerate(OUTLET_NAMES)],
        )
        recreate = drop_indexes(conn, kind)
    bands_since = (now - timedelta(days=bands_days)).isoformat() if bands_days else None
    jobs = [(url, n, lo, min(n, lo + batch), seed, start.isoformat(), now.isoformat(), bands_since)
            for lo in range(0, n, batch)]  # fmt: skip
    n_bands = 0
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for done, (_, nb, data) in enumerate(pool.imap_unordered(load_batch, jobs), 1):
            n_bands += nb
            if data is not None:
                write(engine, *data)
            if done % 20 == 0 or done == len(jobs):
                el = time.perf_counter() - t0
                k = min(n, done * batch)
                print(f"  {k} articles in {el:.0f} s ({k / el:.0f}/s)", file=sys.stderr, flush=True)
    t_rows = time.perf_counter() - t0
    with engine.begin() as conn:
        for sql in recreate:
            conn.execute(text(sql))
        if kind == "postgresql":
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('articles', 'id'), {n})"))
    if kind == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE articles"))
            conn.execute(text("VACUUM ANALYZE story_bands"))
    total = time.perf_counter() - t0
    return {
        "url": url,
        "articles": n,
        "story_bands": n_bands,
        "cached": False,
        "rows_s": round(t_rows, 1),
        "indexes_s": round(total - t_rows, 1),
        "total_s": round(total, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--bands-days", type=float, default=0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(
        build(args.db, args.articles, args.batch, bands_days=args.bands_days, workers=args.workers)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
