"""Measure the industrial-agreement detector on a labelled corpus.

    python -m bench.detection ../shared/corpus/dev            # full-corpus figures
    python -m bench.detection ../shared/corpus/dev --folds 3  # + grouped-by-story CV

Matching rules for the field figures (computed on true positives):
  * parties: a labelled party is found when a predicted party contains it or is
    contained in it (case- and accent-insensitive, predicted length >= 3);
  * sectors, agreement_types: exact vocabulary labels;
  * amounts: same value and currency (the text is not compared).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from crawler.detection import RULES_VERSION, detect
from crawler.detection.core import analyse, score_components
from crawler.detection.rules import load_rules
from crawler.detection.text import fold

LANGS = ("fr", "ar", "en")
# Grid of the numeric scoring parameters tuned in --folds mode.
GRID = {
    "threshold": [0.35, 0.4, 0.45, 0.5, 0.55, 0.6],
    "single_mention_factor": [0.4, 0.5, 0.6],
    "domain_low": [0.15, 0.25, 0.35],
    "domain_high": [0.5, 0.6, 0.7],
}


def load_corpus(directory: Path) -> list[dict[str, Any]]:
    """Every dNNN.json of the corpus directory, sorted by id."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("d*.json"))]


def run(doc: dict[str, Any]):
    """Detect one corpus article."""
    return detect(doc["title"], doc["lead"], "\n".join(doc["body"]), doc["lang"])


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1 (1.0 when undefined)."""
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _party_match(label: str, predicted: list[str]) -> bool:
    lab = fold(label)
    return any(len(p) >= 3 and (fold(p) in lab or lab in fold(p)) for p in predicted)


def field_scores(pairs: list[tuple[dict[str, Any], Any]]) -> dict[str, tuple[int, int, int, int]]:
    """(labelled found, labelled total, predicted matched, predicted total) per field."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for doc, v in pairs:
        lab = doc["label"]
        if not (lab["is_agreement"] and v.is_agreement):
            continue
        for name in ("sectors", "agreement_types"):
            gold, pred = set(lab[name]), set(getattr(v, name))
            out[name][0] += len(gold & pred)
            out[name][1] += len(gold)
            out[name][2] += len(gold & pred)
            out[name][3] += len(pred)
        out["parties"][0] += sum(_party_match(p, v.parties) for p in lab["parties"])
        out["parties"][1] += len(lab["parties"])
        out["parties"][2] += sum(_party_match(p, lab["parties"]) for p in v.parties)
        out["parties"][3] += len(v.parties)
        gold_amounts = {(a["value"], a["currency"]) for a in lab["amounts"]}
        pred_amounts = {(a["value"], a["currency"]) for a in v.amounts}
        out["amounts"][0] += len(gold_amounts & pred_amounts)
        out["amounts"][1] += len(gold_amounts)
        out["amounts"][2] += len(gold_amounts & pred_amounts)
        out["amounts"][3] += len(pred_amounts)
    return {k: tuple(v) for k, v in out.items()}  # type: ignore[misc]


def classification(
    pairs: list[tuple[dict[str, Any], bool]],
) -> dict[str, tuple[int, int, int, int]]:
    """(tp, fp, fn, n) overall and per language."""
    out: dict[str, list[int]] = {k: [0, 0, 0, 0] for k in ("all", *LANGS)}
    for doc, predicted in pairs:
        gold = doc["label"]["is_agreement"]
        for key in ("all", doc["lang"]):
            out[key][0] += gold and predicted
            out[key][1] += predicted and not gold
            out[key][2] += gold and not predicted
            out[key][3] += 1
    return {k: tuple(v) for k, v in out.items()}  # type: ignore[misc]


def print_classification(title: str, pairs: list[tuple[dict[str, Any], bool]]) -> None:
    print(f"\n{title}")
    print(f"  {'lang':<5}{'n':>4}{'tp':>4}{'fp':>4}{'fn':>4}  precision  recall     F1")
    for key, (tp, fp, fn, n) in classification(pairs).items():
        p, r, f = prf(tp, fp, fn)
        print(f"  {key:<5}{n:>4}{tp:>4}{fp:>4}{fn:>4}  {p:9.3f}  {r:6.3f}  {f:5.3f}")


def speed(docs: list[dict[str, Any]], min_seconds: float = 3.0) -> tuple[float, int]:
    """Articles per second of `detect` alone (single process, one core)."""
    inputs = [(d["title"], d["lead"], "\n".join(d["body"]), d["lang"]) for d in docs]
    for args in inputs:  # warm-up: rules loaded and regexes compiled
        detect(*args)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        for args in inputs:
            detect(*args)
        count += len(inputs)
    return count / (time.perf_counter() - start), count


def story_folds(docs: list[dict[str, Any]], k: int, seed: int = 0) -> list[set[str]]:
    """Stories split into k folds (variants of a story stay together)."""
    stories = sorted({d["story"] for d in docs})
    random.Random(seed).shuffle(stories)
    return [set(stories[i::k]) for i in range(k)]


def cross_validate(docs: list[dict[str, Any]], k: int) -> None:
    """Tune the numeric scoring parameters on k-1 folds, test on the held-out one."""
    base = dict(load_rules().languages["fr"].scoring)
    comps = {
        d["id"]: analyse(d["title"], d["lead"], "\n".join(d["body"]), d["lang"]).components()
        for d in docs
    }
    keys = list(GRID)
    combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*GRID.values())]
    combos = [c for c in combos if c["domain_low"] < c["domain_high"]]

    def f1_of(subset: list[dict[str, Any]], params: dict[str, Any]) -> float:
        cfg = {**base, **params}
        pairs = [(d, score_components(comps[d["id"]], cfg) >= cfg["threshold"]) for d in subset]
        tp, fp, fn, _ = classification(pairs)["all"]
        return prf(tp, fp, fn)[2]

    def distance(params: dict[str, Any]) -> float:  # prefer the hand-set defaults on ties
        return sum(abs(params[key] - base[key]) for key in keys)

    held_pairs: list[tuple[dict[str, Any], bool]] = []
    print(f"\nGrouped cross-validation by story, {k} folds (tuned: {', '.join(keys)})")
    for n, fold_stories in enumerate(story_folds(docs, k)):
        train = [d for d in docs if d["story"] not in fold_stories]
        test = [d for d in docs if d["story"] in fold_stories]
        best = max(combos, key=lambda c: (round(f1_of(train, c), 6), -distance(c)))
        cfg = {**base, **best}
        pairs = [(d, score_components(comps[d["id"]], cfg) >= cfg["threshold"]) for d in test]
        held_pairs.extend(pairs)
        tp, fp, fn, m = classification(pairs)["all"]
        p, r, f = prf(tp, fp, fn)
        print(
            f"  fold {n}: train F1 {f1_of(train, best):.3f} | held-out n={m} P={p:.3f} R={r:.3f} "
            f"F1={f:.3f} | {best}"
        )
    print_classification(
        "Held-out folds pooled (each article scored by parameters tuned without its story)",
        held_pairs,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path, help="directory of dNNN.json labelled articles")
    parser.add_argument(
        "--folds", type=int, default=0, help="also run grouped-by-story CV with k folds"
    )
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="minimum duration of the speed test"
    )
    parser.add_argument("--no-speed", action="store_true", help="skip the speed test")
    args = parser.parse_args(argv)

    docs = load_corpus(args.corpus)
    if not docs:
        print(f"no dNNN.json in {args.corpus}", file=sys.stderr)
        return 2
    verdicts = [(d, run(d)) for d in docs]
    print(
        f"Detection bench — {len(docs)} articles from {args.corpus} — RULES_VERSION {RULES_VERSION}"
    )
    print_classification(
        "Classification (all articles)", [(d, v.is_agreement) for d, v in verdicts]
    )

    print("\nFields on true positives (found/labelled = recall; matched/predicted = precision)")
    for name, (found, total, matched, predicted) in sorted(field_scores(verdicts).items()):
        rec = found / total if total else 1.0
        prec = matched / predicted if predicted else 1.0
        print(
            f"  {name:<16} recall {rec:5.3f} ({found}/{total})   precision {prec:5.3f} ({matched}/{predicted})"
        )

    errors = [(d, v) for d, v in verdicts if d["label"]["is_agreement"] != v.is_agreement]
    print(f"\nMisclassified articles: {len(errors)}")
    for d, v in errors:
        label = "positive" if d["label"]["is_agreement"] else "negative"
        evidence = v.evidence[0][:160] if v.evidence else "-"
        print(f"  {d['id']} [{d['lang']}] label={label} score={v.score:.3f} evidence: {evidence}")

    if args.folds:
        cross_validate(docs, args.folds)

    if not args.no_speed:
        rate, count = speed(docs, args.seconds)
        print(f"\nSpeed: {rate:,.0f} articles/s (detection only, {count} calls, one process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
