"""One record per agreement (issue #13): the `agreements` list of a positive verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.core.detection import detect
from crawler.core.detection.text import fold

SEED = Path(__file__).resolve().parents[2] / "shared/seed-article.txt"
KEYS = {"types", "parties", "sectors", "amounts", "count", "evidence"}


def _seed() -> tuple[str, str]:
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    title_index = next(i for i, line in enumerate(lines) if "Made in Morocco" in line)
    return lines[title_index], "\n".join(lines[title_index + 1 :])


def _names(record: dict) -> set[str]:
    return {fold(p) for p in record["parties"]}


@pytest.mark.skipif(not SEED.is_file(), reason="seed article not available")
def test_seed_article_gives_its_five_records_field_by_field() -> None:
    title, body = _seed()
    v = detect(title, "", body, None)
    assert v.is_agreement
    records = v.agreements
    assert len(records) == 5
    for r in records:
        assert set(r) == KEYS
        assert r["count"] == 1
        assert r["evidence"] in body
    made_in, tatwir, mta, pharma, rail = records
    # 1. the quadripartite Made in Morocco convention
    assert made_in["types"] == ["convention"]
    assert made_in["sectors"] == ["normalisation"]
    assert _names(made_in) == {
        fold("ministères de l’Industrie et de l’Investissement"),
        "cgem",
        fold("Institut marocain de normalisation (IMANOR)"),
    }
    assert made_in["amounts"] == []
    # 2. the Tatwir R&D renewal: its 900 MDH, no signatory named
    assert tatwir["parties"] == []
    assert tatwir["sectors"] == ["R&D industrielle"]
    assert tatwir["amounts"] == [
        {"value": 900_000_000, "currency": "MAD", "text": "900 millions de dirhams"}
    ]
    # 3. the contrat-programme with the Cluster MTA, without the trailing clause
    assert mta["types"] == ["contrat-programme"]
    assert mta["sectors"] == ["machines et outils"]
    assert "Cluster MTA" in mta["parties"]
    assert {"ministère du Budget", "Agence nationale pour la promotion de la PME (ANPME)"} <= set(
        mta["parties"]
    )
    assert not any("accompagner" in p for p in mta["parties"])
    # 4. the pharmaceutical inputs convention, parties from "Elle associe ..."
    assert "pharmaceutique" in pharma["sectors"]
    assert {"CGEM", "UM6P", "INNOVX", "Agence du médicament"} <= set(pharma["parties"])
    # 5. the ONCF / Cluster MTI / CERIMME rail platform
    assert rail["types"] == ["partenariat"]
    assert rail["sectors"] == ["ferroviaire"]
    assert {"ONCF", "Cluster MTI", "ministère de l’Industrie"} <= set(rail["parties"])
    # article level: the union of the records, and no event name as a party
    assert not any(p.startswith("Journée") for p in v.parties)
    assert all(p in v.parties for r in records for p in r["parties"])
    assert not any("pour la création" in p for p in v.parties)


def test_a_batch_told_together_is_one_record_with_its_count() -> None:
    v = detect(
        "Oriental : douze conventions d'investissement pour 1,4 milliard de dirhams",
        "",
        "Le Centre régional d'investissement de l'Oriental a signé mercredi à Oujda douze "
        "conventions d'investissement industrielles pour 1,4 milliard de dirhams, dans la "
        "plasturgie et les matériaux de construction.",
        "fr",
    )
    assert v.is_agreement
    assert len(v.agreements) == 1
    batch = v.agreements[0]
    assert batch["count"] == 12
    assert batch["types"] == ["convention d'investissement"]
    assert [a["value"] for a in batch["amounts"]] == [1_400_000_000]
    assert {"plasturgie", "matériaux de construction"} <= set(batch["sectors"])


def test_a_batch_with_one_named_agreement_splits_into_the_named_one_and_the_rest() -> None:
    v = detect(
        "Sept conventions d'investissement signées à Agadir",
        "",
        "Le Centre régional d'investissement de Souss-Massa a signé lundi sept conventions "
        "d'investissement dans l'agroalimentaire, pour un montant global de 1,1 milliard de "
        "dirhams.\nParmi elles, la conserverie Oceanfood engage 300 millions de dirhams dans une "
        "nouvelle ligne de conserves de sardines.",
        "fr",
    )
    counts = sorted(r["count"] for r in v.agreements)
    assert counts == [1, 6]
    named = next(r for r in v.agreements if r["count"] == 1)
    rest = next(r for r in v.agreements if r["count"] == 6)
    assert [a["value"] for a in named["amounts"]] == [300_000_000]
    assert rest["amounts"] == []  # the event's total is not the value of the six others
    assert any("Oceanfood" in p for p in named["parties"])
    assert 1_100_000_000 in [a["value"] for a in v.amounts]  # the stated total stays


def test_a_hotel_convention_at_an_industrial_ceremony_is_not_a_record() -> None:
    v = detect(
        "Tanger : deux conventions signées au conseil régional",
        "",
        "Le Conseil de la région et le groupe Ferrotan ont signé une convention d'investissement "
        "de 500 millions de dirhams pour une fonderie d'aluminium à Tanger.\n"
        "Une autre convention a été signée avec la chaîne Riad Hotels pour la construction d'un "
        "hôtel de 200 chambres destiné aux touristes.",
        "fr",
    )
    assert v.is_agreement
    assert len(v.agreements) == 1
    assert "métallurgie" in v.agreements[0]["sectors"]
    assert not any("Riad" in p for p in v.parties)


def test_arabic_records_one_per_agreement() -> None:
    v = detect(
        "توقيع اتفاقيتين لصناعة السيارات بالقنيطرة",
        "",
        "وقعت وزارة الصناعة والتجارة وشركة ريفا موتورز، أمس الثلاثاء، اتفاقية استثمار بقيمة "
        "900 مليون درهم لإحداث مصنع لمقاعد السيارات بالقنيطرة.\n"
        "أما الاتفاقية الثانية فوقعها مكتب التكوين المهني وإنعاش الشغل وشركة ريفا موتورز "
        "لتكوين 500 تقني.",
        "ar",
    )
    assert v.is_agreement
    assert len(v.agreements) == 2
    invest, training = v.agreements
    assert invest["types"] == ["convention d'investissement"]
    assert [a["value"] for a in invest["amounts"]] == [900_000_000]
    assert "وزارة الصناعة والتجارة" in invest["parties"]
    assert "formation industrielle" in training["sectors"]
    assert any("مكتب التكوين المهني" in p for p in training["parties"])


def test_english_records_and_their_own_values() -> None:
    v = detect(
        "Two aerospace agreements signed in Casablanca",
        "",
        "Aerotek Morocco signed a supply contract worth $40 million with France's Safrel on "
        "Tuesday for engine parts.\nIn a second agreement, the Institute for Aeronautics Trades "
        "(IMA) and Aerotek Morocco signed a convention to train 150 machinists.",
        "en",
    )
    assert len(v.agreements) == 2
    supply, training = v.agreements
    assert supply["types"] == ["contrat d'approvisionnement"]
    assert supply["amounts"][0]["value"] == 40_000_000
    assert supply["amounts"][0]["currency"] == "USD"
    assert training["amounts"] == []
    assert "formation industrielle" in training["sectors"]
    assert any("IMA" in p for p in training["parties"])


def test_attendants_events_and_places_are_not_parties() -> None:
    v = detect(
        "Forum de l'industrie : Nexacâble et l'AMDIE signent une convention",
        "",
        "En présence du ministre de l'Industrie Karim Benali, l'AMDIE et le câblier Nexacâble "
        "ont signé mardi, lors des Assises de l'industrie à Marrakech, une convention "
        "d'investissement de 400 millions de dirhams pour une usine de câbles automobiles à "
        "Kénitra.",
        "fr",
    )
    (record,) = v.agreements
    assert "AMDIE" in record["parties"]
    assert any("Nexacâble" in p for p in record["parties"])
    for wrong in ("Benali", "Assises", "Marrakech", "Kénitra", "Forum"):
        assert not any(wrong in p for p in record["parties"]), record["parties"]


def test_a_negative_verdict_has_no_records() -> None:
    v = detect(
        "Gouvernement, centrales syndicales et CGEM signent un accord sur les salaires",
        "",
        "Le chef du gouvernement, les syndicats et la CGEM ont signé mardi un accord prévoyant "
        "une hausse du SMIG dans l'industrie.",
        "fr",
    )
    assert not v.is_agreement
    assert v.agreements == []
