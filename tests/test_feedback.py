"""Analysts' feedback (issue #17, item 2): marks stored with what the rules said, the
newest mark deciding the verdict and the records, and the analyst winning over
`veille reclassify`; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from crawler.core.detection import RULES_VERSION, detect
from crawler.db.agreement_queries import AgreementFilters, find_agreements
from crawler.db.agreements import reported_row, store_records
from crawler.db.feedback import FeedbackError, feedback_for_article, record_feedback
from crawler.reclassify import reclassify
from storage.db import open_database, writing
from storage.models import Article, Feedback, Source
from storage.queries import article_by_id
from tests.test_agreements import BATCH_FR, RAIL_FR

FACTORY = (
    "Kénitra : l'usine de câblage automobile inaugurée",
    "Le site de Kénitra produira 40.000 faisceaux par an pour les constructeurs européens.\n"
    "L'usine emploie déjà 1.200 personnes, a indiqué son directeur lors de l'inauguration.",
)
SEEN = datetime(2025, 11, 4, 8, tzinfo=UTC)


def store(engine: Engine, articles: list[tuple[str, str]]) -> list[int]:
    """Articles stored as a crawl stores them: detection's verdict and its records."""
    ids = []
    with writing(engine) as conn:
        source = conn.scalar(select(Source.id).where(Source.name == "lavie"))
        if source is None:
            source = conn.execute(
                Source.__table__.insert().values(name="lavie", language="fr").returning(Source.id)
            ).scalar_one()
        for n, (title, body) in enumerate(articles):
            verdict = detect(title, "", body, "fr").as_dict()
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
                    language="fr",
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
    assert report.examined == 1  # the batch article only: the marked one is left alone
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
