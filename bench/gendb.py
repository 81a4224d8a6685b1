"""A veille database of N generated articles, for the query benchmark and crawl prefills.

    python -m bench.gendb --articles 1000000 --db sqlite          # bench/out/query-1000000.sqlite3
    python -m bench.gendb --articles 500000 --db sqlite --bands-days 7
    python -m bench.gendb --articles 1000000 --db postgresql       # schema bench_query_1000000
    python -m bench.gendb --articles 1000000 --db sqlite --agreements 100000  # web view bench

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

With --copy-from KIND, the rows of that generated database (of the same --articles) are
copied instead: the same data on both dialects, generated once.

With --agreements M (added to a database of articles that has none yet): the curated
organisations (crawler.db.agreements.sync_curated) plus --organisations generated ones, each
with a fr, ar and en alias; M agreements as a crawl leaves them, each reported by 1-4 of the
agreement articles published close together (a record per article, positions counted per
article), 2-3 signatories drawn with a long tail (a few organisations sign thousands),
types, sectors, amounts in MAD or EUR (amount_mad the largest, in dirhams), signed_on for
half, first_seen = the first article, score = the best article's, evidence = its sentence.
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
from crawler.core.agreements import largest_in_mad
from crawler.core.common import as_utc
from crawler.core.organisations import fold_name
from crawler.db.agreements import sync_curated
from storage.db import make_engine, open_database, writing
from storage.models import (
    Agreement,
    AgreementParty,
    AgreementRecord,
    Article,
    Organisation,
    OrganisationAlias,
    Source,
    StoryBand,
    appeared,
)
from storage.search import searchable

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
        section = rng.choice(SECTIONS[lang])  # drawn in this order: same data as before
        address = f"https://{OUTLET_NAMES[s]}.ma/{section}/{slugify(title)[:60]}-{id_}.html"
        lead = rng.choice(texts.paragraphs[lang]).split(". ")[0] if rng.random() < 0.4 else None
        rows.append(
            {
                "id": id_,
                "url": address,
                "source_id": s + 1,
                "title": title,
                "author": None,
                "lead": lead,
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
                # folded here, in the generating worker: the single SQLite writer need not
                "search_text": searchable(title, lead, body),
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
    kind: str,
    n: int,
    batch: int = 5000,
    seed: int = 11,
    bands_days: float = 0,
    workers: int = 2,
    agreements: int = 0,
    organisations: int = 3000,
    copy_from: str | None = None,
) -> dict:
    """Create (or reuse) the database, or copy the rows of the `copy_from` one of n articles;
    returns what it holds and how long it took."""
    url = url_for(kind, n)
    OUT.mkdir(parents=True, exist_ok=True)
    if kind == "postgresql":
        with create_engine(PG_BASE).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS bench_query_{n}"))
    engine = open_database(url)
    with engine.connect() as conn:
        have = conn.scalar(select(func.count()).select_from(Article)) or 0
    if have >= n:
        done = {"url": url, "articles": have, "cached": True}
    elif have:
        raise SystemExit(f"{url} holds {have} articles, not {n}: delete it first")
    elif copy_from:
        done = copy_rows(url_for(copy_from, n), engine, kind, batch)
    else:
        done = load_articles(engine, kind, url, n, batch, seed, bands_days, workers)
    if agreements:
        done["agreements"] = add_agreements(engine, agreements, organisations, seed)
    return done


def load_articles(
    engine, kind: str, url: str, n: int, batch: int, seed: int, bands_days: float, workers: int
) -> dict:
    """Fill an empty database with n articles (see the module docstring)."""
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


def copy_rows(source_url: str, engine, kind: str, batch: int) -> dict:
    """Every row of another generated database (same data on the other dialect): articles
    in id order, batch by batch, their secondary indexes dropped meanwhile as in
    load_articles; the FTS triggers fill the search index as veille does."""
    t0 = time.perf_counter()
    source = make_engine(source_url, readonly=True)
    with engine.begin() as conn:
        recreate = drop_indexes(conn, kind)
    tables = [Source, Article, Organisation, OrganisationAlias, Agreement, AgreementRecord,
              AgreementParty]  # fmt: skip
    counts = {}
    for model in tables:
        table = model.__table__
        key = table.c.id if "id" in table.c else None
        last, counts[table.name] = 0, 0
        with source.connect() as src:
            while True:
                query = select(table)
                if key is not None:
                    query = query.where(key > last).order_by(key).limit(batch)
                rows = [dict(r._mapping) for r in src.execute(query)]
                if rows:
                    with writing(engine) as conn:
                        conn.execute(table.insert(), rows)
                counts[table.name] += len(rows)
                if key is None or len(rows) < batch:
                    break
                last = rows[-1]["id"]
        print(f"  {table.name}: {counts[table.name]} rows", file=sys.stderr, flush=True)
    with writing(engine) as conn:
        for sql in recreate:
            conn.execute(text(sql))
    if kind == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return {"url": str(engine.url), "copied_from": source_url, **counts,
            "total_s": round(time.perf_counter() - t0, 1)}  # fmt: skip


# syllables of generated organisation names, Latin and Arabic
SYLLABLES = [("ka", "كا"), ("ra", "را"), ("li", "لي"), ("mo", "مو"), ("ta", "تا"), ("si", "سي"),
             ("na", "نا"), ("bel", "بل"), ("dor", "دور"), ("vex", "فكس"), ("zan", "زان"),
             ("or", "أور"), ("mes", "ميس"), ("tal", "تال"), ("gor", "غور"), ("fi", "في"),
             ("nu", "نو"), ("sal", "سال"), ("ber", "بير"), ("kim", "كيم"), ("ha", "ها"),
             ("dal", "دال"), ("ju", "جو"), ("ros", "روس")]  # fmt: skip
KINDS = [("Industries", "للصناعات", "Industries", "company"),
         ("Technologies", "للتكنولوجيا", "Technologies", "company"),
         ("Énergie", "للطاقة", "Energy", "company"),
         ("Cluster", "مجمع", "Cluster", "cluster"),
         ("Fédération", "جامعة", "Federation", "federation"),
         ("Agence", "وكالة", "Agency", "agency")]  # fmt: skip
EVIDENCE = {
    "fr": "a signé une convention pour un projet industriel de",
    "ar": "وقعت اتفاقية لمشروع صناعي بقيمة",
    "en": "signed an agreement for an industrial project worth",
}


def generated_organisations(rng: random.Random, n: int, taken: set[str]) -> list[dict]:
    """n organisations no curated key names: canonical name, kind, and a fr, ar, en alias."""
    out: list[dict] = []
    while len(out) < n:
        parts = rng.sample(SYLLABLES, rng.randint(2, 3))
        fr_kind, ar_kind, en_kind, kind = rng.choice(KINDS)
        stem = "".join(p[0] for p in parts).capitalize()
        ar_stem = "".join(p[1] for p in parts)
        aliases = [(f"{stem} {fr_kind} Maroc", "fr"), (f"{ar_kind} {ar_stem} المغرب", "ar"),
                   (f"{stem} {en_kind} Morocco", "en")]  # fmt: skip
        keys = [fold_name(a) for a, _ in aliases]
        if any(k in taken for k in keys):
            continue
        taken.update(keys)
        out.append({"name": f"{stem} {fr_kind}", "kind": kind, "aliases": aliases, "keys": keys})
    return out


def add_organisations(conn, rng: random.Random, n: int) -> list[tuple[int, dict[str, str]]]:
    """The curated organisations and n generated ones; (id, name by language) of each, the
    curated first (they sign the most, as in the corpus)."""
    curated = sync_curated(conn)
    names: dict[int, dict[str, str]] = {i: {} for i in curated.values()}
    for org_id, alias, lang in conn.execute(
        select(
            OrganisationAlias.organisation_id, OrganisationAlias.alias, OrganisationAlias.language
        )
    ):
        if org_id in names:
            names[org_id].setdefault(lang or "fr", alias)
    taken = set(conn.scalars(select(OrganisationAlias.key)))
    first = (conn.scalar(select(func.max(Organisation.id))) or 0) + 1
    made = generated_organisations(rng, n, taken)
    conn.execute(
        Organisation.__table__.insert(),
        [{"id": first + i, "name": o["name"], "kind": o["kind"], "curated": False}
         for i, o in enumerate(made)],
    )  # fmt: skip
    conn.execute(
        OrganisationAlias.__table__.insert(),
        [{"key": k, "organisation_id": first + i, "alias": a, "language": lang}
         for i, o in enumerate(made) for (a, lang), k in zip(o["aliases"], o["keys"], strict=True)],
    )  # fmt: skip
    for i, o in enumerate(made):
        names[first + i] = {lang: a for a, lang in o["aliases"]}
    return list(names.items())


def add_agreements(engine, n: int, n_orgs: int, seed: int, batch: int = 10_000) -> dict:
    """n agreements over the stored agreement articles (see the module docstring), unless the
    database holds agreements already."""
    with engine.connect() as conn:
        have = conn.scalar(select(func.count()).select_from(Agreement)) or 0
    if have:
        return {"agreements": have, "cached": True}
    t0 = time.perf_counter()
    rng = random.Random(f"{seed}:agreements")
    with writing(engine) as conn:
        orgs = add_organisations(conn, rng, n_orgs)
    cum, total = [], 0.0
    for rank in range(len(orgs)):
        total += 1 / (rank + 1) ** 0.9
        cum.append(total)
    with engine.connect() as conn:
        articles = conn.execute(
            select(Article.id, appeared().label("seen"), Article.language, Article.score)
            .where(Article.is_agreement)
            .order_by(appeared(), Article.id)
        ).all()
    by_id = dict(orgs)
    positions: dict[int, int] = {}
    n_records = 0
    for lo in range(0, n, batch):
        agreements, records, parties = [], [], []
        for j in range(lo, min(n, lo + batch)):
            c = j * (len(articles) - 6) // n
            reported = sorted(
                rng.sample(articles[c : c + 6], rng.randint(1, 4)), key=lambda a: a.seen
            )
            signed = list(dict.fromkeys(o for o, _ in rng.choices(orgs, cum_weights=cum, k=3)))
            currency = "EUR" if rng.random() < 0.2 else "MAD"
            amounts = (
                [{"value": rng.randint(1, 900) * 10**6, "currency": currency,
                  "text": f"millions {'d euros' if currency == 'EUR' else 'de dirhams'}"}]
                if rng.random() < 0.6 else []
            )  # fmt: skip
            types = rng.sample(TYPES, rng.randint(1, 2))
            sectors = rng.sample(SECTORS, rng.randint(1, 2))
            day = reported[0].seen.date() - timedelta(days=rng.randint(0, 2))
            signed_on = day if rng.random() < 0.5 else None
            evidence, said = "", []
            for a in reported:
                lang = a.language or "fr"
                names = [by_id[o].get(lang) or next(iter(by_id[o].values())) for o in signed]
                sentence = f"{' et '.join(names)} {EVIDENCE[lang]} {rng.randint(1, 900)}"
                evidence, said = evidence or sentence, [*said, *names]
                position = positions.get(a.id, 0)
                positions[a.id] = position + 1
                records.append(
                    {"agreement_id": j + 1, "article_id": a.id, "position": position,
                     "parties": names, "organisation_ids": signed, "types": types,
                     "sectors": sectors, "amounts": amounts, "count": 1,
                     "signed_on": signed_on, "evidence": sentence}
                )  # fmt: skip
            scores = [a.score for a in reported if a.score is not None]
            agreements.append(
                {"id": j + 1, "types": types, "parties": list(dict.fromkeys(said)),
                 "sectors": sectors, "amounts": amounts, "amount_mad": largest_in_mad(amounts), "count": 1,
                 "signed_on": signed_on, "first_seen": as_utc(reported[0].seen),
                 "score": max(scores) if scores else None, "evidence": evidence}
            )  # fmt: skip
            parties += [{"agreement_id": j + 1, "organisation_id": o} for o in signed]
        with writing(engine) as conn:
            conn.execute(Agreement.__table__.insert(), agreements)
            conn.execute(AgreementRecord.__table__.insert(), records)
            conn.execute(AgreementParty.__table__.insert(), parties)
        n_records += len(records)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("agreements", "agreement_records", "organisations"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))  # fmt: skip
            for table in ("organisations", "organisation_aliases", "agreements",
                          "agreement_records", "agreement_parties"):  # fmt: skip
                conn.execute(text(f"VACUUM ANALYZE {table}"))
    return {
        "agreements": n,
        "records": n_records,
        "organisations": len(orgs),
        "cached": False,
        "total_s": round(time.perf_counter() - t0, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--bands-days", type=float, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--agreements", type=int, default=0, help="agreements to add (0: none)")
    ap.add_argument("--organisations", type=int, default=3000, help="generated organisations")
    ap.add_argument(
        "--copy-from",
        choices=("sqlite", "postgresql"),
        help="copy the rows of the generated database of the other kind instead",
    )
    args = ap.parse_args()
    print(
        build(
            args.db,
            args.articles,
            args.batch,
            bands_days=args.bands_days,
            workers=args.workers,
            agreements=args.agreements,
            organisations=args.organisations,
            copy_from=args.copy_from,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
