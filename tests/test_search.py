"""One search syntax, the same results on SQLite and PostgreSQL, in French, Arabic, English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from storage.db import open_database, writing
from storage.models import Article, Source
from storage.queries import Filters, QueryError, find_articles
from storage.search import fold, fts5_match, parse_search, tsquery

WHEN = datetime(2025, 11, 3, 8, tzinfo=UTC)
ARTICLES = {
    "hydro": (
        "Hydrogène vert : une usine à Guelmim",
        "Le projet d'hydrogène produira de l'ammoniac.",
    ),
    "made": ("Made in Morocco", "Le label « made in Morocco » pour les équipementiers."),
    "auto": ("Automobile : accord à Tanger", "Une usine de câblage automobile, 400 emplois."),
    "aero": ("AÉRONAUTIQUE : Boeing et le Maroc", "Un contrat pour l'aéronautique marocaine."),
    "cars_ar": ("توقيع اتفاقية لصناعة السيارات", "وقّعت الوزارة اتفاقيةً مع مصنّع للسيارات في طنجة."),
    "mining_ar": ("المناجم: إتفاقية جديدة", "أبرمت الشركة اتفاقية مع المكتب في مستشفى الرباط."),
    "tire_en": ("Morocco signs tire plant deal", "A $350 million investment agreement in Tangier."),
}
CASES = [
    ("usine", {"hydro", "auto"}),
    ("hydrog*", {"hydro"}),
    ("hydrogene", {"hydro"}),
    ("HYDROGÈNE", {"hydro"}),
    ("aeronautique", {"aero"}),
    ('"made in morocco"', {"made"}),
    ('"in made"', set()),
    ("boeing OR guelmim", {"aero", "hydro"}),
    ("usine -automobile", {"hydro"}),
    ('usine -"cablage automobile"', {"hydro"}),
    ("سيارات", {"cars_ar"}),
    ("السيارات", {"cars_ar"}),
    ("اتفاقيه", {"cars_ar", "mining_ar"}),
    ("الاتفاقية", {"cars_ar", "mining_ar"}),
    ("أتفاقية", {"cars_ar", "mining_ar"}),
    ("وقعت", {"cars_ar"}),
    ("مستشفي", {"mining_ar"}),
    ("اتفاق*", {"cars_ar", "mining_ar"}),
    ("tangier OR tanger", {"auto", "tire_en"}),
    ("morocco -tire", {"made"}),
    ("l'usine", set()),
]


@pytest.fixture
def corpus(db_url: str):
    engine = open_database(db_url)
    with writing(engine) as conn:
        source_id = conn.execute(
            Source.__table__.insert().values(name="s").returning(Source.__table__.c.id)
        ).scalar_one()
        rows = [
            {
                "url": f"https://s.ma/{key}",
                "source_id": source_id,
                "title": title,
                "text": body,
                "fetched_at": WHEN + timedelta(minutes=n),
                "content_hash": key,
                "agreement_types": [],
                "sectors": [],
                "parties": [],
                "amounts": [],
                "evidence": [],
            }
            for n, (key, (title, body)) in enumerate(ARTICLES.items())
        ]
        conn.execute(Article.__table__.insert(), rows)
    yield engine
    engine.dispose()


def test_the_same_search_finds_the_same_articles_on_both_databases(corpus) -> None:
    for query, expected in CASES:
        found = {r["url"].rsplit("/", 1)[1] for r in find_articles(corpus, Filters(search=query))}
        assert found == expected, query


def test_a_search_with_no_word_is_refused(corpus) -> None:
    for query in ("-only -negative", '""', "OR", "*", "- -"):
        with pytest.raises(QueryError):
            find_articles(corpus, Filters(search=query))


def test_arabic_folding() -> None:
    assert fold("الاتفاقيات الموقّعة بالمغرب") == "اتفاقيات موقعه مغرب"
    assert fold("أُبرمت إتفاقية آلية مستشفى") == fold("ابرمت اتفاقيه اليه مستشفي")
    assert fold("للسيارات والسيارات") == "سيارات سيارات"
    assert fold("الف") == "الف"  # too short to be a word with its article
    assert fold("Œuvre Électricité ÇA ÆTHER Straße") == "oeuvre electricite ca aether strasse"


def test_queries_are_written_the_same_way_for_both_engines() -> None:
    search = parse_search('usine* "made in" OR tanger -auto')
    assert fts5_match(search) == '(("usine"* AND "made in") OR ("tanger")) NOT "auto"'
    assert tsquery(search) == "(('usine':* & 'made' <-> 'in') | ('tanger')) & !('auto')"


def test_a_database_made_before_folding_is_rebuilt_by_the_migration(tmp_path) -> None:
    from alembic import command

    from storage.db import alembic_config, make_engine

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    cfg = alembic_config()
    with writing(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(text("INSERT INTO sources (name) VALUES ('s')"))
        conn.execute(
            text(
                "INSERT INTO articles (url, source_id, title, text, fetched_at, content_hash,"
                " agreement_types, sectors, parties, amounts, evidence) VALUES ('https://s.ma/1',"
                " 1, 'السيارات', 'x', '2025-11-03 08:00:00', 'h', '[]', :sectors, '[]', '[]', '[]')"
            ),
            {"sectors": '["a\\u00e9ronautique"]'},
        )
    engine.dispose()
    engine = open_database(url)  # migrates to the newest schema
    assert [r["url"] for r in find_articles(engine, Filters(search="سيارات"))] == ["https://s.ma/1"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sectors FROM articles")).scalar() == '["aéronautique"]'
