"""Regression corpus of short probe articles (tests/probes/*.json), one trap each.

Each probe was written for these tests (none is copied from the dev corpus) and states what
the detector must say: the verdict and, where the trap is about them, the sectors, parties
or agreement records. A rule change that breaks one probe fails its test by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crawler.core.detection import detect
from crawler.core.detection.text import fold

PROBES = sorted((Path(__file__).parent / "probes").glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _has(names: list[str], wanted: str) -> bool:
    w = fold(wanted)
    return any(w in fold(n) or fold(n) in w for n in names if len(n) >= 3)


def test_probe_corpus_covers_three_languages() -> None:
    langs = {_load(p)["lang"] for p in PROBES}
    assert langs == {"fr", "ar", "en"}
    assert len(PROBES) >= 30


@pytest.mark.parametrize("path", PROBES, ids=[p.stem for p in PROBES])
def test_probe(path: Path) -> None:
    probe = _load(path)
    want = probe["expect"]
    v = detect(probe["title"], probe["lead"], "\n".join(probe["body"]), probe["lang"])
    trap = probe["trap"]
    assert v.is_agreement is want["is_agreement"], f"{trap}: score {v.score}, {v.evidence}"
    if not want["is_agreement"]:
        assert v.agreements == []
        return
    assert v.agreements, trap
    for sector in want.get("sectors_include", []):
        assert sector in v.sectors, f"{trap}: {v.sectors}"
    for sector in want.get("sectors_exclude", []):
        assert sector not in v.sectors, f"{trap}: {v.sectors}"
    for name in want.get("parties_include", []):
        assert _has(v.parties, name), f"{trap}: {v.parties}"
    for name in want.get("parties_exclude", []):
        assert not any(fold(name) in fold(p) for p in v.parties), f"{trap}: {v.parties}"
    if "records" in want:
        assert len(v.agreements) == want["records"], f"{trap}: {v.agreements}"
    if "counts" in want:
        assert sorted(r["count"] for r in v.agreements) == sorted(want["counts"]), trap
    # the article-level fields are the union of the records
    for r in v.agreements:
        assert set(r["sectors"]) <= set(v.sectors)
        assert set(r["types"]) <= set(v.agreement_types)
        assert set(r["parties"]) <= set(v.parties)
        assert r["evidence"] in "\n".join([probe["title"], probe["lead"], *probe["body"]])
