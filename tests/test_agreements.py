"""Agreements as first-class records (issue #13): organisations, one agreement across
outlets, `veille agreements` / `veille organisations`, records in `veille query` rows, and
the migration of a database filled by the previous version. Crawls the loopback world."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select

from crawler.core.agreements import Candidate, NewRecord, assign, compatible_types, signed_on
from crawler.core.organisations import clean_party, fold_name, resolve
from crawler.db.agreement_queries import AgreementFilters, agreements_statement
from storage.db import alembic_config, make_engine, open_database, writing
from storage.models import Article, Source
from tests import world
from tests.conftest import FAST, veille
from tests.server import FixtureServer, Route

MIC = "Ministère de l'Industrie et du Commerce"
ONCF = "Office national des chemins de fer"
SEED_URL = "/lenouvelliste/economie/made-in-morocco-accords"

# A ceremony told by a French outlet (two industrial conventions and a hotel one, which is
# not a record) and by an Arabic one (the two industrial conventions, named in Arabic).
RAIL_FR = (
    "Rabat : deux conventions pour la filière ferroviaire, et un accord hôtelier",
    "La première convention, signée lundi à Rabat entre l'Office national des chemins de fer "
    "(ONCF) et le groupe Alstom, porte sur un investissement de 1,2 milliard de dirhams dans "
    "une usine de composants ferroviaires à Fès.\n"
    "La deuxième convention, conclue entre Sonasid et le ministère de l'Industrie et du "
    "Commerce, prévoit la production locale de rails en acier pour 450 millions de dirhams.\n"
    "Une autre convention a été signée avec la chaîne Riad Hotels pour la construction d'un "
    "hôtel de 200 chambres à proximité de la gare de Rabat-Agdal.\n"
    "Ces accords s'inscrivent dans la stratégie de localisation de la filière ferroviaire, "
    "qui vise un taux d'intégration de 40 %.",
)
RAIL_AR = (
    "توقيع اتفاقيتين لتطوير الصناعة السككية بالرباط",
    "وقع المكتب الوطني للسكك الحديدية ومجموعة ألستوم، يوم الاثنين بالرباط، اتفاقية استثمار "
    "بقيمة 1,2 مليار درهم لإنشاء مصنع لمكونات السكك الحديدية بمدينة فاس.\n"
    "وفي اتفاقية ثانية، وقعت شركة صوناسيد ووزارة الصناعة والتجارة على برنامج للإنتاج المحلي "
    "لقضبان الصلب بقيمة 450 مليون درهم.\n"
    "وتندرج هاتان الاتفاقيتان في إطار استراتيجية توطين الصناعة السككية.",
)
BATCH_FR = (
    "Oriental : douze conventions d'investissement pour 1,4 milliard de dirhams",
    "Le Centre régional d'investissement de l'Oriental a signé mercredi à Oujda douze "
    "conventions d'investissement industrielles pour 1,4 milliard de dirhams, dans la "
    "plasturgie et les matériaux de construction.\n"
    "Ces projets devraient créer 1.800 emplois directs dans la région, selon le directeur "
    "du centre.",
)
OUTLETS = """
[[source]]
name = "lavie"
language = "fr"
feeds = ["{BASE}/lavie/feed"]

[[source]]
name = "alyaoum"
language = "ar"
feeds = ["{BASE}/alyaoum/feed"]
"""


# -- pure: organisations and the merge decision ---------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ministère de l'Industrie et du Commerce",
        "le Ministère de l’industrie et du commerce",
        "MIC",
        "وزارة الصناعة والتجارة",
        "وزارةُ الصناعـة و التجارة",  # a diacritic, a tatweel, a loose و
        "Ministry of Industry and Trade",
        "the Ministry of Industry and Trade",
        "ministère de l’Industrie pour la création d'une plateforme",
    ],
)
def test_one_ministry_by_all_its_names(name: str) -> None:
    assert [m.name for m in resolve(name)] == [MIC]
    assert resolve(name)[0].curated


@pytest.mark.parametrize(
    "name",
    ["ONCF", "l'ONCF", "Office national des chemins de fer (ONCF)", "المكتب الوطني للسكك الحديدية"],
)
def test_oncf_by_name_acronym_article_and_arabic(name: str) -> None:
    assert [m.name for m in resolve(name)] == [ONCF]


def test_arabic_letter_variants_fold_alike() -> None:
    assert fold_name("الوكالة المغربية للطاقة المستدامة") == fold_name(
        "الوكاله المغربيه للطاقه المستدامه"
    )
    assert fold_name("إيرباص") == fold_name("ايرباص") == fold_name("آيرباص")
    assert fold_name("مستشفى") == fold_name("مستشفي")


def test_plural_ministries_are_one_organisation_each() -> None:
    names = [m.name for m in resolve("les ministères de la Santé et de l’Industrie")]
    assert names == ["Ministère de la Santé et de la Protection sociale", MIC]


def test_an_unknown_party_is_cleaned_into_an_organisation_of_its_own() -> None:
    (match,) = resolve("Kuhmo Tire Industries à Tanger")
    assert (match.name, match.curated) == ("Kuhmo Tire Industries", False)
    (match,) = resolve("Sumika Polymer Compounds (SPC)")
    assert match.name == "Sumika Polymer Compounds"
    assert set(match.keys) == {"sumika polymer compounds", "spc"}
    assert clean_party("Journée nationale de l’Industrie") is None
    assert clean_party("le cluster Akwa pour accompagner l’émergence de la filière") == (
        "cluster Akwa"
    )


def _record(position: int, orgs: set[int], amount: float | None, article: int = 2) -> NewRecord:
    amounts = [{"value": amount, "currency": "MAD", "text": ""}] if amount else []
    return NewRecord(
        article, position, orgs, ["convention"], amounts, datetime(2025, 11, 4, tzinfo=UTC)
    )


def _candidate(id_: int, orgs: set[int], amount: float | None, article: int = 1) -> Candidate:
    amounts = [{"value": amount, "currency": "MAD", "text": ""}] if amount else []
    at = datetime(2025, 11, 3, tzinfo=UTC)
    return Candidate(id_, orgs, ["convention d'investissement"], amounts, at, articles={article})


def test_merge_on_organisations_amount_and_window_best_fit_first() -> None:
    made_in, rail = _candidate(10, {1, 2, 3}, None), _candidate(11, {4, 5, 6, 1}, None)
    # the other outlet's rail record shares one ministry with made_in, four parties with rail
    assert assign([_record(0, {4, 5, 6, 1}, None)], [made_in, rail]) == {0: 11}
    # a record sharing only that ministry is not the same agreement
    assert assign([_record(0, {1, 7, 8}, None)], [made_in]) == {}
    # amounts more than 1 % apart are two agreements; within 1 %, one
    assert assign([_record(0, {4, 5}, 2.0e9)], [_candidate(12, {4, 5}, 1.2e9)]) == {}
    assert assign([_record(0, {4, 5}, 1.205e9)], [_candidate(12, {4, 5}, 1.2e9)]) == {0: 12}
    # no signatories: only the value tells
    assert assign([_record(0, set(), 9e8)], [_candidate(13, set(), 9e8)]) == {0: 13}
    assert assign([_record(0, set(), None)], [_candidate(13, set(), None)]) == {}
    # never two records of one article, never outside the window
    assert assign([_record(0, {4, 5}, None, article=1)], [_candidate(14, {4, 5}, None)]) == {}
    late = _record(0, {4, 5}, None)
    late.seen += timedelta(days=9)
    assert assign([late], [_candidate(14, {4, 5}, None)]) == {}


def test_two_agreements_of_one_ceremony_take_one_partner_each() -> None:
    records = [_record(0, {1, 2}, None), _record(1, {1, 2}, None)]
    assert assign(records, [_candidate(20, {1, 2}, None)]) == {0: 20}


def test_types_compatible_across_words_but_not_across_kinds() -> None:
    assert compatible_types(["convention"], ["contrat-programme"])
    assert compatible_types(["protocole d'accord"], ["mémorandum d'entente"])
    assert not compatible_types(["contrat-programme"], ["joint-venture"])


def test_signing_day_from_the_text() -> None:
    published = datetime(2025, 11, 4, 8, tzinfo=UTC)  # a Tuesday
    assert signed_on("signée lundi à Rabat", "", published) == date(2025, 11, 3)
    assert signed_on("", "Le salon, organisé hier à Rabat", published) == date(2025, 11, 3)
    assert signed_on("signée le 28 octobre 2025 à Rabat", "", published) == date(2025, 10, 28)
    assert signed_on("une convention a été signée", "", published) is None


# -- end to end -------------------------------------------------------------------------------


def _page(title: str, body: str, language: str, published: datetime) -> Route:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in body.split("\n"))
    direction = ' dir="rtl"' if language == "ar" else ""
    html = (
        f'<html lang="{language}"{direction}><head><meta charset="utf-8"><title>{escape(title)}'
        f'</title><meta property="article:published_time" content="{published.isoformat()}">'
        f"</head><body><article><h1>{escape(title)}</h1>{paragraphs}</article></body></html>"
    )
    return Route(html.encode())


def _feed(base: str, items: list[tuple[str, str, datetime]]) -> Route:
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{base}{path}</link>"
        f"<pubDate>{format_datetime(at)}</pubDate></item>"
        for t, path, at in items
    )
    xml = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>x</title>{entries}</channel></rss>'
    return Route(xml.encode(), world.RSS)


def outlets(server: FixtureServer, tmp_path: Path) -> Path:
    """Two more outlets on the server: a French one with the rail ceremony and a batch, an
    Arabic one with the same ceremony a little later."""
    base = server.base
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    pages = {
        "/lavie/rail-deux-conventions": (*RAIL_FR, "fr", at),
        "/lavie/oriental-douze-conventions": (*BATCH_FR, "fr", at - timedelta(days=1)),
        "/alyaoum/sikak-hadidia-ittifaqiyatan": (*RAIL_AR, "ar", at + timedelta(hours=3)),
    }
    for path, (title, body, lang, when) in pages.items():
        server.add(path, _page(title, body, lang, when))
    for outlet in ("lavie", "alyaoum"):
        items = [(p[0], path, p[3]) for path, p in pages.items() if path.startswith(f"/{outlet}/")]
        server.add(f"/{outlet}/feed", _feed(base, items))
    return world.sources_file(tmp_path, base, OUTLETS)


def crawl(db: str, sources: Path) -> None:
    """A crawl, its exit status checked (1 when the world's unreadable `dead` source is in)."""
    code = 1 if "/dead/" in sources.read_text(encoding="utf-8") else 0
    result = veille("crawl", "--db", db, "--sources", str(sources), *FAST)
    assert result.returncode == code, result.stderr[-3000:]


def rows(command_name: str, db: str, *args: str) -> list[dict]:
    result = veille(command_name, "--db", db, "--format", "jsonl", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


def _orgs(row: dict) -> set[str]:
    return {o["name"] for o in row["organisations"]}


def test_the_seed_articles_five_agreements_stored_and_shown(
    server: FixtureServer, sources: Path, db_url: str
) -> None:
    crawl(db_url, sources)
    found = rows("agreements", db_url, "--source", "lenouvelliste")
    assert len(found) == 5
    keys = ["id", "types", "parties", "organisations", "sectors", "amounts", "count"]
    keys += ["signed_on", "first_seen", "score", "evidence", "verdict_by", "articles"]
    for row in found:
        assert list(row) == keys
        assert row["count"] == 1 and row["verdict_by"] == "rules"
        assert row["first_seen"] == "2025-11-04T08:00:00Z"
        assert row["signed_on"] == "2025-11-03"  # "organisée lundi", published on a Tuesday
        assert 0.5 <= row["score"] <= 1
        (article,) = row["articles"]
        assert article["url"] == server.base + SEED_URL
        assert (article["source"], article["language"]) == ("lenouvelliste", "fr")
        assert article["published_at"] == "2025-11-04T08:00:00Z"
        assert article["title"].startswith("Made in Morocco")
    by_evidence = {row["evidence"].split()[0]: row for row in found}
    made_in, tatwir = by_evidence["Parmi"], by_evidence["Autre"]
    mta, pharma, rail = by_evidence["Dans"], by_evidence["Une"], by_evidence["Enfin,"]
    assert made_in["types"] == ["convention"] and made_in["sectors"] == ["normalisation"]
    assert _orgs(made_in) == {
        MIC,
        "Ministère de l'Investissement, de la Convergence et de l'Évaluation des politiques publiques",
        "Confédération générale des entreprises du Maroc",
        "Institut marocain de normalisation",
    }
    assert "IMANOR" in made_in["evidence"] and made_in["amounts"] == []
    assert tatwir["parties"] == [] and tatwir["organisations"] == []
    assert tatwir["amounts"] == [
        {"value": 900_000_000, "currency": "MAD", "text": "900 millions de dirhams"}
    ]
    assert mta["types"] == ["contrat-programme"] and mta["sectors"] == ["machines et outils"]
    assert {"Cluster Machines, Technologies et Automatismes", "Maroc PME"} <= _orgs(mta)
    assert "pharmaceutique" in pharma["sectors"]
    assert {"Université Mohammed VI Polytechnique", "INNOVX"} <= _orgs(pharma)
    assert rail["types"] == ["partenariat"] and rail["sectors"] == ["ferroviaire"]
    assert {ONCF, MIC} <= _orgs(rail)
    assert not any("Journée" in o["name"] for row in found for o in row["organisations"])

    # `veille query` rows carry the article's records, in order
    (article,) = [r for r in rows("query", db_url) if r["url"].endswith(SEED_URL)]
    assert article["verdict_by"] == "rules"
    records = article["agreements"]
    assert [r["evidence"].split()[0] for r in records] == [
        "Parmi",
        "Autre",
        "Dans",
        "Une",
        "Enfin,",
    ]
    assert set(records[0]) == {
        "types",
        "parties",
        "organisations",
        "sectors",
        "amounts",
        "count",
        "evidence",
    }
    assert records[1]["amounts"][0]["value"] == 900_000_000
    assert MIC in {o["name"] for o in records[4]["organisations"]}

    # the ministry by its Arabic name: the four agreements it signed
    signed = rows(
        "agreements", db_url, "--party", "وزارة الصناعة والتجارة", "--source", "lenouvelliste"
    )
    assert {r["id"] for r in signed} == {made_in["id"], mta["id"], pharma["id"], rail["id"]}


def test_one_agreement_across_outlets_and_languages(
    server: FixtureServer, tmp_path: Path, db_url: str
) -> None:
    crawl(db_url, outlets(server, tmp_path))
    found = rows("agreements", db_url)
    assert len(found) == 3  # two rail conventions (two outlets each) and the batch
    alstom, rails, batch = (
        next(r for r in found if "Alstom" in _orgs(r)),
        next(r for r in found if "Sonasid" in _orgs(r)),
        next(r for r in found if r["count"] > 1),
    )
    # the same agreement from a French and an Arabic outlet: one agreement, two articles
    for row in (alstom, rails):
        assert [a["source"] for a in row["articles"]] == ["lavie", "alyaoum"]
        assert [a["language"] for a in row["articles"]] == ["fr", "ar"]
    assert _orgs(alstom) == {ONCF, "Alstom"}
    assert [a["value"] for a in alstom["amounts"]] == [1_200_000_000]
    assert "المكتب الوطني للسكك الحديدية" in alstom["parties"]
    assert "Office national des chemins de fer (ONCF)" in alstom["parties"]
    # ... and the other agreement of that ceremony stays apart
    assert _orgs(rails) == {"Sonasid", MIC}
    assert [a["value"] for a in rails["amounts"]] == [450_000_000]
    assert alstom["id"] != rails["id"]
    # the hotel convention of the same ceremony is no record
    assert not any("Riad" in p for r in found for p in r["parties"])
    # the batch: one record with its count
    assert batch["count"] == 12 and batch["types"] == ["convention d'investissement"]
    assert {"plasturgie", "matériaux de construction"} <= set(batch["sectors"])
    assert _orgs(batch) == {"Centre régional d'investissement de l'Oriental"}

    # --party by an Arabic alias finds what the French article named "l'ONCF"
    assert [
        r["id"] for r in rows("agreements", db_url, "--party", "المكتب الوطني للسكك الحديدية")
    ] == [alstom["id"]]
    assert [
        r["id"] for r in rows("agreements", db_url, "--party", "sonasid", "--party", "MIC")
    ] == [rails["id"]]
    assert rows("agreements", db_url, "--party", "Renault") == []
    # value in MAD, language, source, type, sector, search, limit
    assert {r["id"] for r in rows("agreements", db_url, "--min-amount", "1e9")} == {
        alstom["id"],
        batch["id"],
    }
    assert {r["id"] for r in rows("agreements", db_url, "--lang", "ar")} == {
        alstom["id"],
        rails["id"],
    }
    assert [r["id"] for r in rows("agreements", db_url, "--sector", "plasturgie")] == [batch["id"]]
    assert [r["id"] for r in rows("agreements", db_url, "--search", "Oujda")] == [batch["id"]]
    assert len(rows("agreements", db_url, "--limit", "1")) == 1
    table = veille("agreements", "--db", db_url, "--min-amount", "1e9")
    assert table.returncode == 0 and "1 EUR = " in table.stderr and "lavie" in table.stdout

    # organisations: counts, one shown with its aliases and agreements
    listed = {r["name"]: r for r in rows("organisations", db_url, "--search", "chemins")}
    assert listed[ONCF]["agreements"] == 1 and listed[ONCF]["kind"] == "public company"
    (oncf,) = rows("organisations", db_url, "ONCF")
    assert "المكتب الوطني للسكك الحديدية" in {a["alias"] for a in oncf["aliases"]}
    assert [a["id"] for a in oncf["agreements"]] == [alstom["id"]]
    shown = veille("organisations", "--db", db_url, "l'Office national des chemins de fer")
    assert shown.returncode == 0 and ONCF in shown.stdout and "1 agreement(s)" in shown.stdout


def test_migration_from_the_previous_schema_then_reclassify(db_url: str) -> None:
    """A database filled by the previous version (schema 0006, before the agreement tables) is upgraded, and
    `veille reclassify` gives its articles their agreements."""
    engine = make_engine(db_url)
    cfg = alembic_config()
    with writing(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    now = datetime.now(UTC)
    with writing(engine) as conn:  # rows as the previous version wrote them
        source_id = conn.execute(
            Source.__table__.insert().values(name="lavie", language="fr").returning(Source.id)
        ).scalar_one()
        for n, (title, body) in enumerate((RAIL_FR, BATCH_FR)):
            at = now - timedelta(hours=n)
            conn.execute(
                Article.__table__.insert().values(
                    url=f"https://lavie.example/{n}",
                    source_id=source_id,
                    title=title,
                    text=body,
                    published_at=at,
                    fetched_at=at,
                    language="fr",
                    content_hash=f"h{n}",
                    is_agreement=True,
                    score=0.9,
                    agreement_types=[],
                    sectors=[],
                    parties=[],
                    amounts=[],
                    evidence=[],
                    rules_version="old",
                )
            )
        assert not inspect(conn).has_table("agreements")
    engine.dispose()
    result = veille("agreements", "--db", db_url)
    assert result.returncode == 2 and "db upgrade" in result.stderr  # read-only: no migration
    result = veille("reclassify", "--db", db_url)
    assert result.returncode == 0, result.stderr[-2000:]
    found = rows("agreements", db_url)
    assert sorted(r["count"] for r in found) == [1, 1, 12]
    assert {n for r in found for n in _orgs(r)} >= {ONCF, "Alstom", "Sonasid"}
    # reclassifying again rewrites the records, it does not add to them
    assert veille("reclassify", "--all", "--db", db_url).returncode == 0
    again = rows("agreements", db_url)
    assert sorted(r["count"] for r in again) == [1, 1, 12]
    assert sum(len(r["articles"]) for r in again) == 3


def test_read_only_commands_do_not_create_a_database(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite3"
    for args in (["agreements"], ["organisations"], ["organisations", "ONCF"]):
        result = veille(*args, "--db", str(path))
        assert result.returncode == 2 and "no veille database" in result.stderr
    assert not path.exists()


def test_agreement_queries_walk_the_indexes(tmp_path: Path) -> None:
    """Newest first walks ix_agreements_first_seen; a party is looked up through
    ix_agreement_parties_organisation (SQLite's plan; bench/agreement_queries.py shows both)."""
    engine = open_database(f"sqlite:///{tmp_path / 'plan.sqlite3'}")

    def plan(f: AgreementFilters) -> str:
        with engine.connect() as conn:
            sql = agreements_statement(conn, f, 20).compile(
                conn, compile_kwargs={"literal_binds": True}
            )
            return " ".join(str(r) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))

    assert "ix_agreements_first_seen" in plan(AgreementFilters())
    assert "ix_agreements_first_seen" in plan(AgreementFilters(since=datetime.now(UTC)))
    assert "ix_agreement_parties_organisation" in plan(AgreementFilters(parties=["ONCF"]))


def test_a_record_joins_by_value_only_an_agreement_or_a_record_naming_no_one(
    db_url: str,
) -> None:
    """The store reads from the database the agreements a record could join
    (crawler.db.agreements._candidates): on a value alone, when one side names no
    organisation, and never two agreements whose named parties differ."""
    from crawler.db.agreements import Reported, store_records
    from storage.models import AgreementRecord

    engine = open_database(db_url)
    seen = datetime(2025, 11, 4, 8, tzinfo=UTC)

    def store(parties: list[str], millions: int) -> int:
        """One article with one record; the agreement that record went to."""
        amount = {"value": millions * 10**6, "currency": "MAD", "text": f"{millions} MDH"}
        record = {"types": ["convention"], "parties": parties, "amounts": [amount]}
        with writing(engine) as conn:
            source = conn.scalar(select(Source.id).where(Source.name == "lavie"))
            if source is None:
                source = conn.execute(
                    Source.__table__.insert().values(name="lavie").returning(Source.id)
                ).scalar_one()
            article = conn.execute(
                Article.__table__.insert()
                .values(
                    url=f"https://lavie.example/{parties}-{millions}",
                    source_id=source,
                    title="Une convention",
                    text="Une convention a été signée.",
                    fetched_at=seen,
                    content_hash=f"{parties}-{millions}",
                )
                .returning(Article.id)
            ).scalar_one()
            store_records(conn, [Reported(article, seen, seen, "fr", "", 1.0, [record])])
            return conn.scalar(
                select(AgreementRecord.agreement_id).where(AgreementRecord.article_id == article)
            )

    # a record naming no one joins, on its value, an agreement naming its parties
    assert store(["Groupe Alpha Industries"], 500) == store([], 500)
    # an agreement naming no one is joined, on its value, by a record naming its parties
    assert store([], 700) == store(["Beta Câbles Maroc"], 700)
    # both name their parties, none in common: two agreements of the same value
    assert store(["Gamma Textile Tanger"], 900) != store(["Delta Automotive Kénitra"], 900)
    engine.dispose()
