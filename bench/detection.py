"""Measure the industrial-agreement detector on a labelled corpus.

    python -m bench.detection ../shared/corpus/dev            # full-corpus figures
    python -m bench.detection ../shared/corpus/dev --folds 3  # + grouped-by-story CV

Matching rules for the field figures (computed on true positives):
  * parties: a labelled party is found when a predicted party contains it or is
    contained in it (case- and accent-insensitive, predicted length >= 3);
  * sectors, agreement_types: exact vocabulary labels;
  * amounts: same value and currency (the text is not compared).

Agreement records (issue #13; same definitions as ../shared/mirror/score.py), on true
positives: a predicted record matches a labelled one when they share a signatory
(case/accent-folded, substring either way) or an amount (same currency, within 1 %), or,
for a labelled record without parties, a sector; pairs are taken greedily, best fit first
(parties share + 1 for an amount + 0.5 for a sector). Per-record fields are then compared
on matched pairs with one-to-one greedy matching (parties/sectors/types by folded substring,
amounts within 1 %).
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

from crawler.core.detection import RULES_VERSION, detect
from crawler.core.detection.core import analyse, score_components
from crawler.core.detection.rules import load_rules
from crawler.core.detection.text import fold

LANGS = ("fr", "ar", "en")
# Grid of the numeric scoring parameters tuned in --folds mode.
GRID = {
    "threshold": [0.35, 0.4, 0.45, 0.5, 0.55, 0.6],
    "single_mention_factor": [0.4, 0.5, 0.6],
    "domain_low": [0.15, 0.25, 0.35],
    "domain_high": [0.5, 0.6, 0.7],
}


def auc(pairs: list[tuple[float, bool]]) -> float | None:
    """ROC AUC of (score, is_positive) pairs (rank-based, ties averaged)."""
    pos = sum(1 for _, y in pairs if y)
    neg = len(pairs) - pos
    if not pos or not neg:
        return None
    ranked = sorted(pairs, key=lambda t: t[0])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += (i + j + 1) / 2.0 * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


def _text_match(a: str, b: str) -> bool:
    """Case/accent-folded substring match, either way."""
    x, y = " ".join(fold(a).split()), " ".join(fold(b).split())
    return bool(x) and bool(y) and (x in y or y in x)


def _amount_match(p: dict[str, Any], g: dict[str, Any]) -> bool:
    """Same currency (when both given) and value within 1 %."""
    if p.get("currency") and g.get("currency") and p["currency"] != g["currency"]:
        return False
    return abs(float(p["value"]) - float(g["value"])) <= 0.01 * abs(float(g["value"]))


def _greedy(gold: list[Any], pred: list[Any], same: Any) -> tuple[int, int]:
    """One-to-one greedy matching: (gold items matched, predicted items matched)."""
    used: set[int] = set()
    hit = 0
    for g in gold:
        for j, p in enumerate(pred):
            if j not in used and same(p, g):
                used.add(j)
                hit += 1
                break
    return hit, len(used)


def record_similarity(p: dict[str, Any], g: dict[str, Any]) -> float:
    """How well a predicted record fits a labelled one; 0 = not the same agreement."""
    gp, pp = list(g.get("parties") or []), list(p.get("parties") or [])
    hit, _ = _greedy(gp, pp, _text_match)
    amt = any(_amount_match(a, b) for a in p.get("amounts") or [] for b in g.get("amounts") or [])
    sec = any(_text_match(a, b) for a in p.get("sectors") or [] for b in g.get("sectors") or [])
    if not (hit or amt or (not gp and sec)):
        return 0.0
    return hit / max(len(gp), 1) + (1.0 if amt else 0.0) + (0.5 if sec else 0.0)


def record_scores(pairs: list[tuple[dict[str, Any], Any]]) -> dict[str, Any]:
    """Agreement-level P/R, exact record counts and per-record field P/R on true positives."""
    gold_n = pred_n = matched = exact = articles = 0
    fields = {k: [0, 0, 0, 0] for k in ("parties", "sectors", "types", "amounts")}
    wrong_counts: list[str] = []
    for doc, v in pairs:
        gold = doc["label"].get("agreements") or []
        if not (doc["label"]["is_agreement"] and v.is_agreement and gold):
            continue
        pred = v.agreements
        articles += 1
        gold_n += len(gold)
        pred_n += len(pred)
        if len(pred) == len(gold):
            exact += 1
        else:
            wrong_counts.append(f"{doc['id']} {len(pred)}/{len(gold)}")
        cands = sorted(
            (
                (record_similarity(p, g), gi, pi)
                for gi, g in enumerate(gold)
                for pi, p in enumerate(pred)
            ),
            reverse=True,
        )
        used_g: set[int] = set()
        used_p: set[int] = set()
        for sim, gi, pi in cands:
            if sim <= 0 or gi in used_g or pi in used_p:
                continue
            used_g.add(gi)
            used_p.add(pi)
            matched += 1
            for k, c in fields.items():
                gl, pl = gold[gi].get(k) or [], pred[pi].get(k) or []
                same = _amount_match if k == "amounts" else _text_match
                gh, ph = _greedy(gl, pl, same)
                c[0] += gh
                c[1] += len(gl)
                c[2] += ph
                c[3] += len(pl)
    return {
        "articles": articles,
        "gold": gold_n,
        "pred": pred_n,
        "matched": matched,
        "exact": exact,
        "fields": fields,
        "wrong_counts": wrong_counts,
    }


def print_records(pairs: list[tuple[dict[str, Any], Any]]) -> None:
    """The agreement-record figures (issue #13)."""
    s = record_scores(pairs)
    p = s["matched"] / s["pred"] if s["pred"] else 1.0
    r = s["matched"] / s["gold"] if s["gold"] else 1.0
    n = s["articles"]
    print(
        "\nAgreement records on true-positive articles (greedy best fit, as ../shared/mirror/score.py)"
    )
    print(
        f"  records: precision {p:5.3f} ({s['matched']}/{s['pred']})   recall {r:5.3f} "
        f"({s['matched']}/{s['gold']})   count exact on {s['exact']}/{n} articles "
        f"({s['exact'] / n if n else 1.0:5.3f})"
    )
    for name, (found, total, hit, predicted) in s["fields"].items():
        rec = found / total if total else 1.0
        prec = hit / predicted if predicted else 1.0
        print(
            f"  per-record {name:<8} recall {rec:5.3f} ({found}/{total})   "
            f"precision {prec:5.3f} ({hit}/{predicted})"
        )
    if s["wrong_counts"]:
        print(f"  record count off (predicted/labelled): {', '.join(s['wrong_counts'])}")


def print_thresholds(pairs: list[tuple[dict[str, Any], Any]], default: float) -> None:
    """AUC and precision/recall when the score is cut at several thresholds."""
    scored = [(v.score, bool(d["label"]["is_agreement"])) for d, v in pairs]
    value = auc(scored)
    print(f"\nScore ranking: AUC {value:.3f}" if value is not None else "\nScore ranking: AUC n/a")
    for t in (0.2, 0.3, 0.4, default, 0.6, 0.7, 0.8, 0.9):
        tp = sum(1 for sc, y in scored if sc >= t and y)
        fp = sum(1 for sc, y in scored if sc >= t and not y)
        fn = sum(1 for sc, y in scored if sc < t and y)
        p, r, _ = prf(tp, fp, fn)
        mark = "  (default)" if t == default else ""
        print(f"  min-score {t:.2f}: precision {p:5.3f}  recall {r:5.3f}  ({tp} tp, {fp} fp){mark}")


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
    """Articles per CPU-second of `detect` alone (single process, one core; CPU time, so
    that other processes on a shared machine do not count)."""
    inputs = [(d["title"], d["lead"], "\n".join(d["body"]), d["lang"]) for d in docs]
    for args in inputs:  # warm-up: rules loaded and regexes compiled
        detect(*args)
    count, start = 0, time.process_time()
    while time.process_time() - start < min_seconds:
        for args in inputs:
            detect(*args)
        count += len(inputs)
    return count / (time.process_time() - start), count


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

    print_thresholds(verdicts, load_rules().languages["fr"].scoring["threshold"])
    print_records(verdicts)

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
        print(f"\nSpeed: {rate:,.0f} articles/CPU-s (detection only, {count} calls, one process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
