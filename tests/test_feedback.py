"""Analysts' feedback (issue #17, item 2): marks stored with what the rules said, the
newest mark deciding the verdict and the records, and the analyst winning over
`veille reclassify`; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from crawler.core.detection import RULES_VERSION, detect
from crawler.db.agreement_queries import AgreementFilters, find_agreements
from crawler.db.agreements import reported_row, store_records
from crawler.db.feedback import FeedbackError, feedback_for_article, record_feedback
from crawler.reclassify import reclassify
from storage.db import open_database, writing
from storage.models import Article, Feedback, Source
from storage.queries import article_by_id
from tests.conftest import ROOT, veille
from tests.test_agreements import BATCH_FR, RAIL_AR, RAIL_FR

FACTORY = (
    "Kénitra : l'usine de câblage automobile inaugurée",
    "Le site de Kénitra produira 40.000 faisceaux par an pour les constructeurs européens.\n"
    "L'usine emploie déjà 1.200 personnes, a indiqué son directeur lors de l'inauguration.",
)
SEEN = datetime(2025, 11, 4, 8, tzinfo=UTC)


def store(engine: Engine, articles: list[tuple[str, str]], language: str = "fr") -> list[int]:
    """Articles stored as a crawl stores them: detection's verdict and its records."""
    ids = []
    with writing(engine) as conn:
        source = conn.scalar(select(Source.id).where(Source.name == "lavie"))
        if source is None:
            source = conn.execute(
                Source.__table__.insert().values(name="lavie", language="fr").returning(Source.id)
            ).scalar_one()
        for n, (title, body) in enumerate(articles):
            verdict = detect(title, "", body, language).as_dict()
            fields = {k: verdict[k] for k in ("is_agreement", "score", "sectors", "parties")}
            fields |= {k: verdict[k] for k in ("agreement_types", "amounts", "evidence")}
            row = conn.execute(
                Article.__table__.insert()
                .values(
                    url=f"https://lavie.example/{len(ids)}-{n}-{title[:20]}",
                    source_id=source,
                    title=title,
                    text=body,
                    published_at=SEEN + timedelta(hours=n),
                    fetched_at=SEEN + timedelta(hours=n),
                    language=language,
                    content_hash=hashlib.sha256(body.encode()).hexdigest(),
                    rules_version=RULES_VERSION,
                    **fields,
                )
                .returning(*Article.__table__.c)
            ).one()
            records = verdict["agreements"] if verdict["is_agreement"] else []
            store_records(conn, [reported_row(row, verdict["score"], records)])
            ids.append(row.id)
    return ids


@pytest.fixture
def engine(db_url: str) -> Engine:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def agreements_of(engine: Engine, article_id: int) -> list[dict]:
    return [
        a
        for a in find_agreements(engine, AgreementFilters())
        if any(x["id"] == article_id for x in a["articles"])
    ]


def test_an_agreement_marked_wrong_stops_being_one_and_survives_reclassify(
    engine: Engine,
) -> None:
    rail, batch = store(engine, [RAIL_FR, BATCH_FR])
    assert article_by_id(engine, rail)["is_agreement"] is True
    assert article_by_id(engine, rail)["verdict_by"] == "rules"
    assert len(agreements_of(engine, rail)) == 2
    before = len(find_agreements(engine, AgreementFilters()))

    mark = record_feedback(engine, rail, correct=False, by="amina", note="a hotel, mostly")
    assert (mark.article_id, mark.correct, mark.by, mark.note) == (
        rail,
        False,
        "amina",
        "a hotel, mostly",
    )
    assert mark.at.tzinfo is not None and mark.parties is None and mark.sector is None
    row = article_by_id(engine, rail)
    assert (row["is_agreement"], row["verdict_by"], row["agreements"]) == (False, "analyst", [])
    assert agreements_of(engine, rail) == []
    assert len(find_agreements(engine, AgreementFilters())) == before - 2
    assert feedback_for_article(engine, rail) == [mark]

    report = reclassify(engine, everything=True)
    assert (report.examined, report.kept) == (1, 1)  # the marked article is left alone
    row = article_by_id(engine, rail)
    assert (row["is_agreement"], row["verdict_by"]) == (False, "analyst")
    assert agreements_of(engine, rail) == []
    assert article_by_id(engine, batch)["verdict_by"] == "rules"


def test_a_missed_agreement_marked_wrong_becomes_one_with_the_corrected_record(
    engine: Engine,
) -> None:
    (factory,) = store(engine, [FACTORY])
    assert article_by_id(engine, factory)["is_agreement"] is False
    mark = record_feedback(
        engine,
        factory,
        correct=False,
        by="youssef",
        parties=["Yazaki Morocco ", "ministère de l'Industrie", ""],
        sector="Automobile",
    )
    assert mark.parties == ["Yazaki Morocco", "ministère de l'Industrie"]
    assert mark.sector == "automobile"
    (agreement,) = agreements_of(engine, factory)
    assert mark.agreement_id == agreement["id"]
    assert agreement["parties"] == ["Yazaki Morocco", "ministère de l'Industrie"]
    assert agreement["sectors"] == ["automobile"]
    assert agreement["verdict_by"] == "analyst"
    row = article_by_id(engine, factory)
    assert (row["is_agreement"], row["verdict_by"]) == (True, "analyst")
    assert row["agreements"][0]["parties"] == ["Yazaki Morocco", "ministère de l'Industrie"]

    reclassify(engine, everything=True)
    (again,) = agreements_of(engine, factory)
    assert (again["parties"], again["sectors"]) == (agreement["parties"], ["automobile"])
    assert article_by_id(engine, factory)["is_agreement"] is True


def test_a_correction_names_its_record_when_the_article_reports_several(engine: Engine) -> None:
    rail, batch = store(engine, [RAIL_FR, BATCH_FR])
    records = agreements_of(engine, rail)
    with pytest.raises(FeedbackError, match=r"reports 2 agreements \(ids \d+, \d+\)"):
        record_feedback(engine, rail, correct=True, by="amina", sector="métallurgie")
    with pytest.raises(FeedbackError, match="does not report agreement"):
        record_feedback(engine, rail, correct=True, by="amina", agreement_id=10_000)
    assert feedback_for_article(engine, rail) == []  # nothing stored by a refused mark

    second = next(a for a in records if "Sonasid" in a["evidence"])
    mark = record_feedback(
        engine, rail, correct=True, by="amina", sector="métallurgie", agreement_id=second["id"]
    )
    corrected = [a for a in agreements_of(engine, rail) if a["id"] == mark.agreement_id]
    assert corrected[0]["sectors"] == ["métallurgie"] and "Sonasid" in corrected[0]["evidence"]
    other = next(a for a in agreements_of(engine, rail) if a["id"] != mark.agreement_id)
    assert other["verdict_by"] == "analyst" and "ONCF" in other["evidence"]
    assert other["sectors"] != ["métallurgie"]

    reclassify(engine, everything=True)
    kept = {a["id"]: a["sectors"] for a in agreements_of(engine, rail)}
    assert kept[mark.agreement_id] == ["métallurgie"]
    (single,) = agreements_of(engine, batch)
    assert single["verdict_by"] == "rules"


def test_a_confirmation_keeps_the_agreements_and_the_newest_mark_wins(engine: Engine) -> None:
    (batch,) = store(engine, [BATCH_FR])
    (agreement,) = agreements_of(engine, batch)
    ok = record_feedback(engine, batch, correct=True, by="amina")
    assert ok.agreement_id == agreement["id"]
    (same,) = agreements_of(engine, batch)
    assert same["id"] == agreement["id"] and same["verdict_by"] == "analyst"

    wrong = record_feedback(engine, batch, correct=False, by="youssef")
    assert agreements_of(engine, batch) == []
    assert article_by_id(engine, batch)["is_agreement"] is False
    back = record_feedback(engine, batch, correct=True, by="amina", note="it is one")
    assert article_by_id(engine, batch)["is_agreement"] is True  # the rules' verdict again
    (restored,) = agreements_of(engine, batch)
    assert restored["count"] == 12 and restored["verdict_by"] == "analyst"
    marks = feedback_for_article(engine, batch)
    assert [m.id for m in marks] == [back.id, wrong.id, ok.id]  # all kept, newest first
    assert marks[0] == back and back.agreement_id == restored["id"]
    assert marks[2].agreement_id is None  # its agreement went with the wrong mark
    with engine.connect() as conn:
        said = conn.execute(select(Feedback.rules_is_agreement, Feedback.rules_version)).all()
        assert set(said) == {(True, RULES_VERSION)}  # what the rules said, every time
        assert feedback_for_article(conn, batch)[0] == back


def test_marks_that_cannot_be_applied_are_refused_in_one_line(engine: Engine) -> None:
    rail, factory = store(engine, [RAIL_FR, FACTORY])
    cases = [
        (dict(article_id=99_999, correct=True, by="a"), "no article 99999"),
        (
            dict(article_id=rail, correct=True, by="a", sector="tourisme"),
            "'tourisme' is not a sector",
        ),
        (dict(article_id=rail, correct=True, by=" "), "no analyst named"),
        (dict(article_id=rail, correct=True, by="a", parties=[" "]), "no party named"),
        (dict(article_id=factory, correct=True, by="a", parties=["X"]), "reports no agreement"),
        (dict(article_id=rail, correct=False, by="a", agreement_id=1), "reports no agreement"),
    ]
    for kwargs, message in cases:
        with pytest.raises(FeedbackError, match=message) as caught:
            record_feedback(engine, **kwargs)
        assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Feedback)) == 0


# -- the command line -------------------------------------------------------------------------


def rows(db_url: str, *args: str) -> list[dict]:
    result = veille(*args, "--db", db_url, "--format", "jsonl")
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


def article_row(db_url: str, article_id: int) -> dict:
    return next(r for r in rows(db_url, "query") if r["id"] == article_id)


def cli_agreements(db_url: str, article_id: int) -> list[dict]:
    found = rows(db_url, "agreements")
    return [a for a in found if any(x["id"] == article_id for x in a["articles"])]


def test_marks_from_the_command_line_win_over_reclassify(engine: Engine, db_url: str) -> None:
    rail, factory = store(engine, [RAIL_FR, FACTORY])
    assert len(cli_agreements(db_url, rail)) == 2
    result = veille(
        "feedback", str(rail), "--wrong", "--note", "hotel", "--db", db_url, env={"USER": "amina"}
    )
    assert result.returncode == 0, result.stderr
    assert f"article {rail} marked wrong by amina" in result.stdout
    assert "not an agreement" in result.stdout
    result = veille(
        "feedback",
        str(factory),
        "--wrong",
        "--parties",
        "Yazaki Morocco; ministère de l'Industrie",
        "--sector",
        "AUTOMOBILE",
        "--by",
        "youssef",
        "--db",
        db_url,
    )
    assert result.returncode == 0, result.stderr
    for _ in range(2):  # as marked, then after `veille reclassify --all`
        row = article_row(db_url, rail)
        assert (row["is_agreement"], row["verdict_by"], row["agreements"]) == (False, "analyst", [])
        assert cli_agreements(db_url, rail) == []
        (agreement,) = cli_agreements(db_url, factory)
        assert agreement["parties"] == ["Yazaki Morocco", "ministère de l'Industrie"]
        assert (agreement["sectors"], agreement["verdict_by"]) == (["automobile"], "analyst")
        assert article_row(db_url, factory)["verdict_by"] == "analyst"
        result = veille("reclassify", "--all", "--db", db_url)
        assert result.returncode == 0, result.stderr
        assert "2 article(s) marked by analysts left as they decided" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["99999", "--correct"], "veille: no article 99999"),
        (["{rail}", "--correct", "--sector", "métallurgie"], "reports 2 agreements"),
        (["{rail}", "--correct", "--agreement", "777"], "does not report agreement 777"),
        (["{rail}", "--correct", "--sector", "tourisme"], "'tourisme': not a sector"),
    ],
)
def test_a_mark_that_cannot_be_applied_is_one_line_and_exit_2(
    engine: Engine, db_url: str, args: list[str], message: str
) -> None:
    (rail,) = store(engine, [RAIL_FR])
    args = [a.format(rail=rail) for a in args]
    result = veille("feedback", *args, "--by", "amina", "--db", db_url)
    assert result.returncode == 2
    assert result.stderr.startswith("veille: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Feedback)) == 0


def known_marks(engine: Engine) -> dict[str, int]:
    """Four marked articles: two the rules got right, one they wrongly called an agreement,
    one they missed (classified by older rules), in French and Arabic."""
    rail, batch, factory = store(engine, [RAIL_FR, BATCH_FR, FACTORY])
    (rail_ar,) = store(engine, [RAIL_AR], language="ar")
    with writing(engine) as conn:
        conn.execute(update(Article).where(Article.id == factory).values(rules_version="old"))
    record_feedback(engine, rail, correct=False, by="amina")
    record_feedback(engine, batch, correct=False, by="amina")
    record_feedback(engine, batch, correct=True, by="youssef")  # the newest mark counts
    record_feedback(engine, factory, correct=False, by="amina", parties=["Yazaki"])
    record_feedback(engine, rail_ar, correct=True, by="youssef")
    return {"rail": rail, "batch": batch, "factory": factory, "rail_ar": rail_ar}


def test_stats_say_how_right_the_rules_were(engine: Engine, db_url: str) -> None:
    known_marks(engine)
    result = veille("feedback", "stats", "--format", "json", "--db", db_url)
    assert result.returncode == 0, result.stderr
    found = {(r["group"], r["value"]): r for r in json.loads(result.stdout)}
    figures = ("marked", "rules_yes", "confirmed", "precision", "rules_no", "missed", "recall")
    expected = {
        ("all", "all"): (4, 3, 2, 0.667, 1, 1, 0.667),
        ("language", "ar"): (1, 1, 1, 1.0, 0, 0, 1.0),
        ("language", "fr"): (3, 2, 1, 0.5, 1, 1, 0.5),
        ("rules_version", "old"): (1, 0, 0, None, 1, 1, 0.0),
        ("rules_version", RULES_VERSION): (3, 3, 2, 0.667, 0, 0, 1.0),
    }
    assert {k: tuple(r[f] for f in figures) for k, r in found.items()} == expected
    result = veille("feedback", "stats", "--format", "csv", "--db", db_url)
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["group"], r["value"], r["precision"]) for r in table][:3] == [
        ("all", "all", "0.667"),
        ("language", "ar", "1.0"),
        ("language", "fr", "0.5"),
    ]
    result = veille("feedback", "stats", "--db", db_url)
    assert result.returncode == 0 and "precision" in result.stdout


def test_export_writes_labelled_documents_the_detection_bench_reads(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    ids = known_marks(engine)
    out = tmp_path / "marked"
    result = veille("feedback", "export", str(out), "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert f"4 labelled article(s) written to {out}" in result.stdout
    docs = {
        d["feedback"]["article_id"]: d
        for d in map(json.loads, map(Path.read_text, out.glob("d*.json")))
    }
    assert set(docs) == set(ids.values())
    fields = ["id", "lang", "site", "section", "title", "lead", "body", "author", "published"]
    fields += ["story", "variant_of", "label", "difficulty", "feedback"]
    for doc in docs.values():
        assert list(doc) == fields
        assert doc["site"] == "lavie.example" and doc["published"].endswith("+01:00")
        assert set(doc["label"]) == {
            "is_agreement",
            "why",
            "agreement_types",
            "sectors",
            "parties",
            "amounts",
            "agreements",
        }
    rail, factory = docs[ids["rail"]], docs[ids["factory"]]
    assert rail["label"]["is_agreement"] is False and rail["label"]["agreements"] == []
    assert rail["difficulty"] == "hard" and rail["feedback"]["rules_is_agreement"] is True
    assert factory["label"]["is_agreement"] is True
    assert [a["parties"] for a in factory["label"]["agreements"]] == [["Yazaki"]]
    assert factory["label"]["parties"] == ["Yazaki"]
    batch = docs[ids["batch"]]["label"]
    assert [a["count"] for a in batch["agreements"]] == [12]
    assert (
        docs[ids["rail_ar"]]["lang"] == "ar"
        and len(docs[ids["rail_ar"]]["label"]["agreements"]) == 2
    )

    bench = subprocess.run(
        [sys.executable, "-m", "bench.detection", str(out), "--no-speed"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert bench.returncode == 0, bench.stderr
    assert f"4 articles from {out}" in bench.stdout
    # the rules still miss the factory and still call the hotel-and-rail article an agreement
    assert "Misclassified articles: 2" in bench.stdout


def test_a_later_article_of_the_same_agreement_leaves_the_analysts_record(engine: Engine) -> None:
    """What a crawl stores afterwards (the Arabic report of the ceremony, through the crawl's
    store_records) joins the corrected agreement without overturning the mark."""
    (rail,) = store(engine, [RAIL_FR])
    sonasid = next(a for a in agreements_of(engine, rail) if "Sonasid" in a["evidence"])
    mark = record_feedback(
        engine, rail, correct=True, by="amina", sector="métallurgie", agreement_id=sonasid["id"]
    )
    (arabic,) = store(engine, [RAIL_AR], language="ar")
    row = article_by_id(engine, rail)
    assert row["verdict_by"] == "analyst" and row["is_agreement"] is True
    assert [r["sectors"] for r in row["agreements"] if "Sonasid" in r["evidence"]] == [
        ["métallurgie"]
    ]
    (joined,) = [a for a in agreements_of(engine, arabic) if a["id"] == mark.agreement_id]
    assert {x["id"] for x in joined["articles"]} == {rail, arabic}
    assert "métallurgie" in joined["sectors"] and joined["verdict_by"] == "analyst"
    assert article_by_id(engine, arabic)["verdict_by"] == "rules"


def test_a_mark_on_a_database_that_does_not_exist_creates_none(tmp_path: Path) -> None:
    missing = tmp_path / "typo.sqlite3"
    result = veille("feedback", "1", "--wrong", "--db", str(missing))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("veille: no veille database at ")
    assert not missing.exists()
