"""Behaviour of the industrial-agreement detector (crawler.core.detection)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.core.detection import RULES_VERSION, Verdict, detect, load_rules, rules_hash
from crawler.core.detection.amounts import as_number, find_amounts
from crawler.core.detection.rules import RULES_DIR, _compile_groups, compute_rules_version, entry_of
from crawler.core.detection.text import fold, fold_case_preserving

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/dev"


def amounts_of(text: str, language: str) -> list[tuple[int | float, str, str]]:
    grammar = load_rules().languages[language].amounts
    return [
        (as_number(a.value), a.currency, text[a.start : a.end])
        for a in find_amounts(fold(text), language, grammar)
    ]


def test_a_vocabulary_regex_tells_which_entry_matched() -> None:
    # entry 1 has no patterns; entry 2's second pattern and an entry past 9 must be found
    groups = [["usine~"], [], ["accord~", "memorandum"], *[["x"]] * 8, ["bogies?"]]
    regex = _compile_groups(groups, arabic=False)
    assert regex is not None
    text = "un memorandum pour une usine de bogies, accords et memorandums"
    found = [(text[m.start() : m.end()], entry_of(m)) for m in regex.finditer(text)]
    assert found == [("memorandum", 2), ("usine", 0), ("bogies", 11), ("accords", 2)]


# -- classification -------------------------------------------------------------


def test_folds_keep_offsets_and_fold_as_their_pairs_say() -> None:
    """Evidence and parties are sliced from the folded text at the same offsets: each fold is
    one character to one, below and past the end of its table (the highest character folded)."""
    text = "L’ÉTAT\u00a0et l'Amdie ont signé ١٢ accords, إنشاء ٱلمصنع — Ōsaka 𝐀 😀 ﬁn."
    kept = "انشاء المصنع — Ōsaka 𝐀 😀 ﬁn."
    assert fold_case_preserving(text) == "L'ÉTAT et l'Amdie ont signé 12 accords, " + kept
    assert fold(text) == "l'etat et l'amdie ont signe 12 accords, " + kept.replace("Ō", "ō")
    every = "".join(chr(c) for c in range(0x20, 0x30000) if not 0xD800 <= c <= 0xDFFF)
    assert len(fold(every)) == len(fold_case_preserving(every)) == len(every)


def test_french_signed_industrial_convention_is_positive() -> None:
    v = detect(
        "Câblage : une convention d'investissement de 450 millions de dirhams signée à Tanger",
        "",
        "Le ministère de l'Industrie et du Commerce et le groupe Zentrak Wiring ont signé lundi "
        "à Rabat une convention d'investissement pour une usine de faisceaux automobiles à Tanger. "
        "L'investissement atteint 450 millions de dirhams.\n"
        "La convention prévoit la création de 1 200 emplois directs d'ici 2027.",
        "fr",
    )
    assert v.is_agreement
    assert "convention d'investissement" in v.agreement_types
    assert "automobile" in v.sectors
    assert {"value": 450_000_000, "currency": "MAD", "text": "450 millions de dirhams"} in v.amounts
    assert any("Zentrak Wiring" in p for p in v.parties)
    assert v.evidence and all(isinstance(e, str) and e for e in v.evidence)


def test_convention_as_a_conference_is_negative() -> None:
    v = detect(
        "Convention annuelle des plasturgistes : 800 participants attendus à Casablanca",
        "",
        "La convention annuelle des plasturgistes se tiendra les 3 et 4 octobre à Casablanca. "
        "Les organisateurs attendent 800 participants et une centaine d'exposants.\n"
        "Le programme prévoit des conférences et des ateliers thématiques sur le recyclage.",
        "fr",
    )
    assert not v.is_agreement


def test_football_accord_de_principe_is_negative() -> None:
    v = detect(
        "Mercato : le club trouve un accord de principe avec un milieu sénégalais",
        "",
        "Le club a trouvé un accord de principe avec le joueur, qui doit signer un contrat de "
        "quatre saisons après sa visite médicale.\nL'entraîneur attend cette recrue depuis juin.",
        "fr",
    )
    assert not v.is_agreement


def test_tourism_contrat_programme_is_negative() -> None:
    v = detect(
        "Tourisme : l'État et les hôteliers signent un contrat-programme",
        "",
        "Le gouvernement et la fédération de l'hôtellerie ont signé mardi à Marrakech un "
        "contrat-programme pour l'industrie touristique, doté de 2 milliards de dirhams.\n"
        "Le contrat-programme vise la rénovation des hôtels et la promotion de la destination "
        "auprès des touristes européens.",
        "fr",
    )
    assert not v.is_agreement


def test_agreement_abroad_without_moroccan_party_is_negative() -> None:
    v = detect(
        "Égypte : accord d'investissement pour une usine de batteries",
        "",
        "Le gouvernement égyptien a signé jeudi au Caire un accord d'investissement avec le "
        "groupe coréen Daeyang Cells pour une usine de batteries en Égypte.\n"
        "L'accord prévoit 2 000 emplois et une capacité de 10 GWh.",
        "fr",
    )
    assert not v.is_agreement


def test_announced_strategy_without_signature_is_negative() -> None:
    v = detect(
        "Industrie : une nouvelle stratégie pour la chimie",
        "",
        "Le ministre a présenté une stratégie pour l'industrie chimique. Des contrats-programmes "
        "seraient négociés avec les fédérations, sans préciser d'échéance.",
        "fr",
    )
    assert not v.is_agreement


def test_english_deal_still_to_be_signed_is_negative() -> None:
    v = detect(
        "Phosphate group to sign fertilizer deal with Indian firm next month",
        "",
        "OCP will sign an agreement with an Indian fertilizer group next month, sources said. "
        "The deal could cover a new plant at Jorf Lasfar.",
        "en",
    )
    assert not v.is_agreement


def test_arabic_contrat_programme_is_positive() -> None:
    v = detect(
        "توقيع عقد-برنامج لتطوير صناعة النسيج",
        "",
        "وقعت الحكومة والجمعية المغربية لصناعات النسيج والألبسة، أمس الثلاثاء بالدار البيضاء، "
        "عقد-برنامج لتطوير صناعة النسيج بغلاف مالي قدره 700 مليون درهم.\n"
        "ويلتزم المهنيون بموجب هذا العقد بتحديث المصانع وتكوين اليد العاملة.",
        "ar",
    )
    assert v.is_agreement
    assert "contrat-programme" in v.agreement_types
    assert "textile" in v.sectors
    assert {"value": 700_000_000, "currency": "MAD", "text": "700 مليون درهم"} in v.amounts


def test_english_mou_is_positive() -> None:
    v = detect(
        "Morocco, Norwegian firm sign MoU on aluminium recycling plant",
        "",
        "Morocco's Ministry of Industry and Trade and Norwegian group Fjordal Metals signed an MoU "
        "on Thursday to build an aluminium recycling plant near Kenitra.\n"
        "Under the MoU, the company will invest $120 million in the factory.",
        "en",
    )
    assert v.is_agreement
    assert "mémorandum d'entente" in v.agreement_types
    assert "métallurgie" in v.sectors
    assert {"value": 120_000_000, "currency": "USD", "text": "$120 million"} in v.amounts


def test_language_is_guessed_when_missing() -> None:
    v = detect(
        "Morocco signs investment agreement for a tire factory",
        "",
        "Morocco signed an investment agreement on Monday with a tire maker for a factory in "
        "Tangier. The agreement covers a $200 million plant.",
        None,
    )
    assert v.is_agreement


def test_verdict_shape_and_score_range() -> None:
    for args in [
        ("", "", "", "fr"),
        ("Titre", "", "Texte sans rapport.", "fr"),
        ("عنوان", "", "نص", None),
    ]:
        v = detect(*args)
        assert isinstance(v, Verdict)
        assert 0.0 <= v.score <= 1.0
        d = v.as_dict()
        assert set(d) == {
            "is_agreement",
            "score",
            "agreement_types",
            "sectors",
            "parties",
            "amounts",
            "evidence",
            "agreements",
        }
        assert d["agreements"] == []  # records only for positive verdicts
    with pytest.raises(AttributeError):
        v.score = 1.0  # type: ignore[misc]  # frozen


# -- amounts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "value", "currency"),
    [
        ("900 millions de dirhams", "fr", 900_000_000, "MAD"),
        ("3 MMDH", "fr", 3_000_000_000, "MAD"),
        ("1,2 milliard de DH", "fr", 1_200_000_000, "MAD"),
        ("deux milliards de dirhams", "fr", 2_000_000_000, "MAD"),
        ("80 millions d’euros", "fr", 80_000_000, "EUR"),
        ("$500 million", "en", 500_000_000, "USD"),
        ("€320m", "en", 320_000_000, "EUR"),
        ("4.2 billion dirhams", "en", 4_200_000_000, "MAD"),
        ("200 مليون درهم", "ar", 200_000_000, "MAD"),
        ("مليار و500 مليون درهم", "ar", 1_500_000_000, "MAD"),
        ("1,8 مليار درهم", "ar", 1_800_000_000, "MAD"),
        ("ملياري يورو", "ar", 2_000_000_000, "EUR"),
    ],
)
def test_amount_formats(text: str, language: str, value: int, currency: str) -> None:
    assert amounts_of(text, language) == [(value, currency, text)]


def test_job_counts_are_not_amounts() -> None:
    assert amounts_of("Le projet créera 1 500 emplois et 2 000 postes indirects.", "fr") == []
    assert amounts_of("The plant will employ 1,800 people.", "en") == []
    assert amounts_of("إحداث 900 منصب شغل مباشر", "ar") == []


def test_export_figures_are_not_reported_as_amounts() -> None:
    v = detect(
        "Textile : un contrat-programme de 3 milliards de dirhams signé",
        "",
        "L'AMITH et le gouvernement ont signé jeudi à Casablanca un contrat-programme doté de "
        "3 milliards de dirhams pour la filière textile.\n"
        "Les industriels s'engagent à porter les exportations à 65 milliards de dirhams.",
        "fr",
    )
    assert v.is_agreement
    assert [(a["value"], a["currency"]) for a in v.amounts] == [(3_000_000_000, "MAD")]


# -- rules ------------------------------------------------------------------------


def test_rules_come_from_the_data_files() -> None:
    names = {p.name for p in RULES_DIR.glob("*.toml")}
    assert {"fr.toml", "ar.toml", "en.toml", "common.toml"} <= names
    rules = load_rules()
    assert set(rules.languages) == {"fr", "ar", "en"}
    assert load_rules() is rules  # cached, not reloaded per call
    assert RULES_VERSION == compute_rules_version() == rules.version


def test_rules_version_changes_with_content() -> None:
    a = rules_hash([("fr.toml", b"patterns = ['sign~']")])
    b = rules_hash([("fr.toml", b"patterns = ['sign~', 'paraph~']")])
    assert a != b
    assert a == rules_hash([("fr.toml", b"patterns = ['sign~']")])


# -- whole dev corpus (regression floor) -------------------------------------------


@pytest.mark.skipif(not CORPUS.is_dir(), reason="dev corpus not available")
def test_dev_corpus_precision_and_recall_floor() -> None:
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("d*.json"))]
    tp = fp = fn = 0
    for d in docs:
        v = detect(d["title"], d["lead"], "\n".join(d["body"]), d["lang"])
        gold = d["label"]["is_agreement"]
        tp += gold and v.is_agreement
        fp += v.is_agreement and not gold
        fn += gold and not v.is_agreement
    assert tp / (tp + fp) >= 0.9
    assert tp / (tp + fn) >= 0.88


SEED = Path(__file__).resolve().parents[2] / "shared/seed-article.txt"


@pytest.mark.skipif(not SEED.is_file(), reason="seed article not available")
def test_seed_article_is_never_missed() -> None:
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    title_index = next(i for i, line in enumerate(lines) if "Made in Morocco" in line)
    v = detect(lines[title_index], "", "\n".join(lines[title_index + 1 :]), None)
    assert v.is_agreement
    assert {"value": 900_000_000, "currency": "MAD", "text": "900 millions de dirhams"} in v.amounts
    assert {"normalisation", "pharmaceutique", "ferroviaire"} <= set(v.sectors)


def test_the_opening_sentence_is_the_lede_when_there_is_no_standfirst() -> None:
    title = "Kénitra : une usine de pièces en plastique pour l'automobile"
    opening = (
        "Le groupe Plastiform et le ministère de l'Industrie ont signé lundi à Rabat une "
        "convention d'investissement de 250 millions de dirhams pour une usine de pièces "
        "plastiques destinées à l'automobile, à Kénitra."
    )
    follow = "L'usine emploiera 400 personnes et exportera vers l'Europe."
    assert detect(title, "", f"{opening}\n{follow}", "fr").is_agreement
    # the same signing as a background sentence further down is not the article's subject
    background = (
        "La production de pièces plastiques a progressé de 9 % cette année, selon la fédération "
        "du secteur, portée par la demande des constructeurs.\n"
        "Les exportations ont atteint 4 milliards de dirhams.\n"
        f"{opening.replace('ont signé lundi', 'avaient signé en 2019')}"
    )
    assert not detect(title, "", background, "fr").is_agreement


def test_a_plan_to_sign_is_not_a_signature_for_a_set_date() -> None:
    plan = (
        "The Ministry of Industry on Tuesday unveiled its 2030 industrial strategy, which "
        "plans to sign program-contracts with ten manufacturing sectors over the coming years."
    )
    assert not detect("Morocco unveils industrial strategy", "", plan, "en").is_agreement
    set_date = (
        "Morocco's Ministry of Industry and an aerospace maker will sign on Thursday in "
        "Casablanca a memorandum of understanding to develop aircraft parts manufacturing."
    )
    assert detect("Aerospace MoU to be signed", "", set_date, "en").is_agreement
