"""Behaviour tests for crawler/core/stories.py (near-duplicate story grouping)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from datasketch import MinHash
from datasketch.hashfunc import sha1_hash32
from hypothesis import given
from hypothesis import strategies as hyp

from crawler.core import stories as st

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/dev"

# A hand-written dispatch and a syndicated variant of it: new title, first paragraph
# reworded, one paragraph dropped, one paragraph added.
ORIGINAL_TITLE = "Textile : Filatures du Souss signe une convention de 310 MDH à Agadir"
ORIGINAL = [
    "Le groupe Filatures du Souss a signé lundi à Agadir une convention d'investissement "
    "de 310 millions de dirhams avec le ministère de l'Industrie pour construire une unité "
    "de filature et de teinture dans la zone industrielle d'Aït Melloul.",
    "La nouvelle unité, d'une capacité annuelle de 4 000 tonnes de fil de coton et de "
    "polyester recyclé, doit entrer en production au second semestre de l'année prochaine "
    "et employer à terme quelque 650 personnes, dont une majorité de techniciennes.",
    "Selon le directeur général du groupe, l'usine approvisionnera en priorité les "
    "confectionneurs de Casablanca et de Tanger qui travaillent pour les grandes enseignes "
    "européennes et cherchent à raccourcir leurs délais de livraison.",
    "La convention prévoit l'accès à un terrain de douze hectares, un accompagnement à la "
    "formation des opérateurs par l'OFPPT et le raccordement du site au réseau d'eau "
    "traitée de la station de Tamri.",
    "Le secteur du textile et de l'habillement emploie près de 180 000 personnes au Maroc "
    "et a réalisé l'an dernier un chiffre d'affaires à l'export de 44 milliards de dirhams, "
    "selon l'Association marocaine des industries du textile.",
]
VARIANT_TITLE = "Aït Melloul accueillera une filature de 310 millions de dirhams"
VARIANT = [
    "Une unité de filature et de teinture verra le jour dans la zone industrielle d'Aït "
    "Melloul, après la signature lundi d'une convention de 310 MDH entre le ministère de "
    "l'Industrie et le groupe Filatures du Souss.",
    ORIGINAL[1],
    ORIGINAL[2],
    ORIGINAL[4],
    "Le groupe exploite déjà deux usines de confection à Agadir et à Inezgane.",
]
# A different article on the same topic (textile investment convention, same vocabulary).
OTHER_TITLE = "Textile : une convention de 120 MDH pour une usine de denim à Fès"
OTHER = [
    "Le ministère de l'Industrie a signé mardi à Fès une convention d'investissement de "
    "120 millions de dirhams avec la société Atlas Denim, qui construira une usine de "
    "tissage et de délavage dans la zone industrielle de Ras El Ma.",
    "L'usine produira chaque année six millions de mètres de toile denim destinée aux "
    "marques espagnoles et portugaises, et emploiera environ 400 personnes à l'horizon "
    "de trois ans, selon un communiqué du ministère.",
    "La convention prévoit un accompagnement à la formation des opérateurs et un appui à "
    "l'installation d'une station de recyclage des eaux de délavage.",
    "Le secteur du textile reste le premier employeur industriel du Royaume, rappelle le "
    "communiqué, qui cite une hausse des exportations de denim de 12 % l'an dernier.",
]


def _sig(title: str, paragraphs: list[str]) -> bytes:
    return st.signature(title, "\n".join(paragraphs))


def test_constants_consistent():
    assert st.BANDS * st.ROWS <= st.NUM_PERM
    assert 0.0 < st.THRESHOLD < 1.0
    assert st.SHINGLE_K >= 2


def test_reworded_variant_is_similar_and_shares_band_keys():
    a, b = _sig(ORIGINAL_TITLE, ORIGINAL), _sig(VARIANT_TITLE, VARIANT)
    assert st.similarity(a, b) >= st.THRESHOLD
    assert set(st.band_keys(a)) & set(st.band_keys(b))


def test_same_topic_different_article_is_below_threshold():
    a, c = _sig(ORIGINAL_TITLE, ORIGINAL), _sig(OTHER_TITLE, OTHER)
    assert st.similarity(a, c) < st.THRESHOLD
    b = _sig(VARIANT_TITLE, VARIANT)
    assert st.similarity(b, c) < st.THRESHOLD


def test_title_is_ignored_when_text_present_and_used_when_empty():
    text = "\n".join(ORIGINAL)
    assert st.signature("Un titre", text) == st.signature("Un tout autre titre", text)
    assert st.signature("Un titre", "") != st.signature("Un tout autre titre", "")
    assert st.signature(ORIGINAL_TITLE, "") == st.signature("", ORIGINAL_TITLE)


def test_signature_deterministic_and_size():
    a = _sig(ORIGINAL_TITLE, ORIGINAL)
    assert isinstance(a, bytes)
    assert len(a) == st.NUM_PERM * 4
    assert a == _sig(ORIGINAL_TITLE, ORIGINAL)
    assert st.similarity(a, a) == 1.0


@given(hyp.lists(hyp.text(max_size=40), max_size=60))
def test_signature_is_datasketchs_affine32_minhash(paragraphs):
    # Stored signatures are datasketch's MinHash (scheme affine32, SHA-1 32-bit hash, seed 1),
    # computed without importing it: every value must stay the same as datasketch's.
    text = "\n".join(paragraphs)
    m = MinHash(num_perm=st.NUM_PERM, seed=st.SEED, hashfunc=sha1_hash32, scheme="affine32")
    m.update_batch(st.shingles(text))
    assert st.signature("", text) == m.hashvalues.astype("<u4").tobytes()


def test_a_crawl_imports_neither_datasketch_nor_scipy():
    import subprocess
    import sys

    code = "import sys, crawler.runner, crawler.pipelines; print(sorted({'datasketch', 'scipy'} & set(sys.modules)))"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "[]"
    )


def test_identical_after_normalisation_gives_same_signature():
    text = "\n".join(ORIGINAL)
    assert st.signature("", text) == st.signature("", "  " + text.upper().replace(",", " ;"))


def test_band_keys_signed_64_bit_and_deterministic():
    a = _sig(ORIGINAL_TITLE, ORIGINAL)
    keys = st.band_keys(a)
    assert len(keys) == st.BANDS
    assert all(isinstance(k, int) and -(2**63) <= k < 2**63 for k in keys)
    assert keys == st.band_keys(a)
    assert len(set(keys)) == len(keys)


def test_band_index_is_mixed_in():
    # Identical bands at different positions must give different keys.
    sig = bytes(range(1, 9)) * (st.NUM_PERM // 2)
    keys = st.band_keys(sig)
    assert len(set(keys)) == len(keys)


def test_band_keys_stable_value():
    # Pins the key function (blake2b, band index, byte order): stored keys must not change.
    sig = (1).to_bytes(4, "little") * st.NUM_PERM
    assert st.band_keys(sig)[:2] == [-6085988052956654135, -5635656547549800670]


def test_empty_text_has_no_keys_and_no_similarity():
    e = st.signature("", "")
    assert len(e) == st.NUM_PERM * 4
    assert st.band_keys(e) == []
    assert st.similarity(e, e) == 0.0
    assert st.similarity(e, _sig(ORIGINAL_TITLE, ORIGINAL)) == 0.0


def test_similarities_batch_matches_single():
    a, b, c = _sig("", ORIGINAL), _sig("", VARIANT), _sig("", OTHER)
    e = st.signature("", "")
    sims = st.similarities(a, [b, c, e, a])
    assert list(sims) == [st.similarity(a, x) for x in (b, c, e, a)]
    assert list(st.similarities(e, [a, b])) == [0.0, 0.0]
    assert len(st.similarities(a, [])) == 0


def test_similarity_rejects_wrong_size():
    with pytest.raises(ValueError):
        st.similarity(b"\x00" * 8, b"\x00" * 8)


@given(hyp.binary(min_size=st.NUM_PERM * 4, max_size=st.NUM_PERM * 4))
def test_band_keys_range_property(sig):
    keys = st.band_keys(sig)
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert keys == st.band_keys(sig)


def test_content_hash():
    a = "La convention a été signée, lundi, à Agadir."
    assert st.content_hash(a) == st.content_hash("  la CONVENTION a été signée   lundi à agadir ")
    assert st.content_hash(a) == st.content_hash("La convention a ete signee - lundi - a Agadir !")
    assert st.content_hash(a) != st.content_hash("La convention a été signée mardi à Agadir.")
    h = st.content_hash(a)
    assert len(h) == 64 and int(h, 16) >= 0


def test_shingles():
    sh = st.shingles("Le Maroc signe, une convention.")
    assert sh == {b"le maroc signe", b"maroc signe une", b"signe une convention"}
    assert st.shingles("") == set()
    assert st.shingles("deux mots") == {b"deux mots"}


def test_normalize_latin():
    assert (
        st.normalize_text("  L'Économie  d’ŒUVRE\n— 2,4 MMDH !") == "l economie d oeuvre 2 4 mmdh"
    )


def test_normalize_arabic():
    n = st.normalize_text
    assert n("أحمد") == n("إحمد") == n("آحمد") == n("ٱحمد") == "احمد"
    assert n("اتفاقيـــة") == "اتفاقيه"  # tatweel, ta marbuta
    assert n("مستشفى") == "مستشفي"  # alef maqsura
    assert n("وَقَّعَتِ الحُكُومَةُ") == "وقعت الحكومه"  # harakat, shadda
    assert n("سنة ٢٠٢٥، في الرباط؛") == "سنه 2025 في الرباط"  # digits, Arabic punctuation
    assert n("مسؤول") == "مسوول"  # hamza on waw
    text = "وقّعت الحكومةُ اتّفاقيةَ استثمارٍ"
    assert st.content_hash(text) == st.content_hash("وقعت الحكومه اتفاقيه استثمار")


@given(hyp.text(max_size=200))
def test_normalize_idempotent(text):
    once = st.normalize_text(text)
    assert st.normalize_text(once) == once
    assert "  " not in once and once == once.strip()


def _load_corpus() -> list[dict]:
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("d*.json"))]
    for d in docs:
        d["_published"] = datetime.fromisoformat(d["published"])
    docs.sort(key=lambda d: (d["_published"], d["id"]))
    return docs


@pytest.mark.skipif(not CORPUS.is_dir(), reason="dev corpus not available")
def test_dev_corpus_pairwise_precision_recall():
    """Incremental assignment as the integration does it, scored over all pairs."""
    docs = _load_corpus()
    assert docs
    window = timedelta(days=st.CANDIDATE_WINDOW_DAYS)
    index: dict[int, list[int]] = {}
    sigs, stories, published = [], [], []
    for d in docs:
        sig = st.signature(d["title"], "\n".join([d["lead"], *d["body"]]))
        keys = st.band_keys(sig)
        cands = {c for k in keys for c in index.get(k, ())}
        scored = [
            (st.similarity(sig, sigs[c]), c)
            for c in cands
            if abs(d["_published"] - published[c]) <= window
        ]
        best = max(scored, default=(0.0, -1))
        stories.append(stories[best[1]] if best[0] >= st.THRESHOLD else d["id"])
        for k in keys:
            index.setdefault(k, []).append(len(sigs))
        sigs.append(sig)
        published.append(d["_published"])
    tp = fp = fn = 0
    for (a, sa), (b, sb) in itertools.combinations(zip(docs, stories, strict=True), 2):
        same_true, same_pred = a["story"] == b["story"], sa == sb
        tp += same_true and same_pred
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    assert precision >= 0.97, (precision, tp, fp, fn)
    assert recall >= 0.93, (precision, tp, fp, fn)
