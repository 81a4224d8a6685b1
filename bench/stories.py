"""Benchmark of the near-duplicate ("story") grouping in crawler/core/stories.py.

Usage (from the project root):

    python -m bench.stories ../shared/corpus/dev            # report for the chosen constants
    python -m bench.stories ../shared/corpus/dev --sweep    # P/R over thresholds x shingle sizes

Simulates the integration exactly: articles in publication order; for each one compute the
signature and band keys, look up candidate articles sharing a band key (a dict stands in for
the indexed story_band table), keep those published within CANDIDATE_WINDOW_DAYS, compare
signatures, and join the best candidate's story if its similarity >= THRESHOLD, else start
a new story. Scores are pairwise over all pairs of articles.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from crawler.core import stories as st


def load(corpus: Path) -> list[dict]:
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(corpus.glob("d*.json"))]
    for d in docs:
        d["_published"] = datetime.fromisoformat(d["published"])
        d["_text"] = "\n".join([d.get("lead") or "", *d["body"]]).strip()
    docs.sort(key=lambda d: (d["_published"], d["id"]))
    return docs


def assign(
    docs: list[dict],
    sig_fn: Callable[[str, str], bytes],
    threshold: float,
    window_days: float = st.CANDIDATE_WINDOW_DAYS,
    timings: list[float] | None = None,
) -> tuple[dict[str, str], dict[str, int]]:
    """Incremental assignment in publication order. Returns (story per id, candidates per id)."""
    window = timedelta(days=window_days)
    index: dict[int, list[int]] = defaultdict(list)  # story_band: key -> row numbers
    sigs: list[bytes] = []
    story: list[str] = []
    published: list[datetime] = []
    n_cand: dict[str, int] = {}
    for d in docs:
        t0 = time.perf_counter()
        sig = sig_fn(d["title"], d["_text"])
        keys = st.band_keys(sig)
        cands: set[int] = set()
        for k in keys:
            cands.update(index.get(k, ()))
        # The SQL query returns only candidates inside the time window.
        eligible = [c for c in cands if abs(d["_published"] - published[c]) <= window]
        best, best_sim = -1, -1.0
        if eligible:
            sims = st.similarities(sig, [sigs[c] for c in eligible])
            i = int(sims.argmax())
            best, best_sim = eligible[i], float(sims[i])
        sid = story[best] if best >= 0 and best_sim >= threshold else d["id"]
        row = len(sigs)
        for k in keys:
            index[k].append(row)
        if timings is not None:
            timings.append(time.perf_counter() - t0)
        sigs.append(sig)
        story.append(sid)
        published.append(d["_published"])
        n_cand[d["id"]] = len(cands)
    return {d["id"]: s for d, s in zip(docs, story, strict=True)}, n_cand


def pairwise(docs: list[dict], pred: dict[str, str]) -> tuple[float, float, int, int, int]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(docs, 2):
        same_true = a["story"] == b["story"]
        same_pred = pred[a["id"]] == pred[b["id"]]
        tp += same_true and same_pred
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, tp, fp, fn


def pair_sims(docs: list[dict], sig_fn, k: int):
    """(estimated, exact Jaccard, id_a, id_b) for true pairs and for non-variant pairs."""
    sigs = [sig_fn(d["title"], d["_text"]) for d in docs]
    shs = [st._shingles(st._words(d["_text"]), k) for d in docs]
    true_pairs, other = [], []
    for i, j in itertools.combinations(range(len(docs)), 2):
        est = st.similarity(sigs[i], sigs[j])
        union = len(shs[i] | shs[j])
        exact = len(shs[i] & shs[j]) / union if union else 0.0
        row = (est, exact, docs[i]["id"], docs[j]["id"])
        (true_pairs if docs[i]["story"] == docs[j]["story"] else other).append(row)
    return sorted(true_pairs), sorted(other, reverse=True)


def p_candidate(j: float, bands: int = st.BANDS, rows: int = st.ROWS) -> float:
    return 1.0 - (1.0 - j**rows) ** bands


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def report(docs: list[dict], repeats: int, window_days: float) -> None:
    print(
        f"constants: NUM_PERM={st.NUM_PERM} SHINGLE_K={st.SHINGLE_K} BANDS={st.BANDS} "
        f"ROWS={st.ROWS} THRESHOLD={st.THRESHOLD} window={window_days} days; "
        f"title ignored unless the text is empty"
    )
    print(f"articles: {len(docs)}, labelled stories: {len({d['story'] for d in docs})}")
    pred, n_cand = assign(docs, st.signature, st.THRESHOLD, window_days)
    p, r, tp, fp, fn = pairwise(docs, pred)
    print(f"\npairwise precision {p:.3f}  recall {r:.3f}  (tp={tp} fp={fp} fn={fn})")
    print(f"predicted stories: {len(set(pred.values()))}")
    errors = [
        (a["id"], b["id"])
        for a, b in itertools.combinations(docs, 2)
        if (a["story"] == b["story"]) != (pred[a["id"]] == pred[b["id"]])
    ]
    if errors:
        print("wrong pairs:", errors)

    cands = list(n_cand.values())
    print(
        f"LSH candidates per article (before window/threshold): mean {statistics.mean(cands):.2f}"
        f", max {max(cands)}"
    )

    true_pairs, other = pair_sims(docs, st.signature, st.SHINGLE_K)
    print("\nsimilarity of true-variant pairs (estimated / exact Jaccard), lowest first:")
    for est, exact, a, b in true_pairs:
        print(f"  {a}-{b}  {est:.3f} / {exact:.3f}   P(candidate)={p_candidate(est):.4f}")
    print("closest non-variant pairs (estimated / exact Jaccard):")
    for est, exact, a, b in other[:8]:
        print(f"  {a}-{b}  {est:.3f} / {exact:.3f}   P(candidate)={p_candidate(est):.4f}")
    lo, hi = true_pairs[0][0], other[0][0]
    lo_x, hi_x = min(t[1] for t in true_pairs), max(o[1] for o in other)
    print(
        f"margin (estimated): lowest true {lo:.3f} - highest non-variant {hi:.3f} = "
        f"{lo - hi:.3f}; middle {(lo + hi) / 2:.3f}; THRESHOLD {st.THRESHOLD}"
    )
    print(f"margin (exact Jaccard): {lo_x:.3f} - {hi_x:.3f} = {lo_x - hi_x:.3f}")
    print(
        "LSH S-curve P(candidate): "
        + " ".join(f"J={j}:{p_candidate(j):.3f}" for j in (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5))
    )

    # Timing: signature + band keys + candidate lookup/comparisons, per article.
    assign(docs, st.signature, st.THRESHOLD, window_days)  # warm-up
    timings: list[float] = []
    for _ in range(repeats):
        assign(docs, st.signature, st.THRESHOLD, window_days, timings)
    sig_t: list[float] = []
    for _ in range(repeats):
        for d in docs:
            t0 = time.perf_counter()
            st.signature(d["title"], d["_text"])
            sig_t.append(time.perf_counter() - t0)
    ms = [t * 1e3 for t in timings]
    print(
        f"\ntime per article (signature + band keys + candidates), {repeats}x{len(docs)} runs: "
        f"median {statistics.median(ms):.3f} ms, p95 {pct(ms, 0.95):.3f} ms, max {max(ms):.3f} ms"
    )
    sms = [t * 1e3 for t in sig_t]
    print(
        f"  of which signature(): median {statistics.median(sms):.3f} ms, p95 {pct(sms, 0.95):.3f}"
    )


def sweep(docs: list[dict], window_days: float) -> None:
    thresholds = [0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55]
    print(f"BANDS={st.BANDS} ROWS={st.ROWS} NUM_PERM={st.NUM_PERM}; cells are P/R")
    for use_title in (False, True):
        print(f"\n== title {'included' if use_title else 'ignored (text only)'} ==")
        print("k  minTrue maxOther  " + "  ".join(f"t={t:.2f}    " for t in thresholds))
        for k in range(2, 7):

            def sig_fn(title, text, k=k, use_title=use_title):
                return (
                    st.signature_k("", f"{title}\n{text}", k)
                    if use_title
                    else (st.signature_k(title, text, k))
                )

            true_pairs, other = pair_sims(docs, sig_fn, k)
            cells = []
            for t in thresholds:
                pred, _ = assign(docs, sig_fn, t, window_days)
                p, r, *_ = pairwise(docs, pred)
                cells.append(f"{p:.3f}/{r:.3f}")
            print(f"{k}  {true_pairs[0][0]:.3f}   {other[0][0]:.3f}     " + "  ".join(cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="directory of dNNN.json files")
    ap.add_argument("--sweep", action="store_true", help="P/R over thresholds and shingle sizes")
    ap.add_argument("--repeats", type=int, default=20, help="timing passes over the corpus")
    ap.add_argument("--window-days", type=float, default=st.CANDIDATE_WINDOW_DAYS)
    args = ap.parse_args(argv)
    docs = load(args.corpus)
    if not docs:
        print(f"no dNNN.json in {args.corpus}", file=sys.stderr)
        return 1
    if args.sweep:
        sweep(docs, args.window_days)
    else:
        report(docs, args.repeats, args.window_days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
