"""Dedup cost against a large index: candidates and time per article as the index grows.

Usage (from the project root):

    python -m bench.dedup_speed ../shared/corpus/dev --sizes 1000 10000 30000

Builds synthetic "background" articles with a word-bigram chain trained on the corpus (per
language, so they share the corpus's frequent phrases — "de la", "le ministère de
l'Industrie" — the main source of spurious LSH candidates), indexes their band keys in a
dict standing in for story_band, then measures, for each real corpus article, signature +
band keys + candidate lookup + similarity against all candidates (no time window: worst case).
The background is pessimistic: a bigram chain trained on only 90 articles reproduces many of
their word trigrams, so it yields more candidates and higher similarities than real
unrelated news would.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
from collections import defaultdict
from pathlib import Path

from bench.stories import load, pct
from crawler.core import stories as st


def bigram_model(texts: list[str]) -> dict[str, list[str]]:
    model: dict[str, list[str]] = defaultdict(list)
    for t in texts:
        words = t.split()
        for a, b in itertools.pairwise(words):
            model[a].append(b)
    return model


def generate(model: dict[str, list[str]], starts: list[str], n_words: int, rng) -> str:
    w = rng.choice(starts)
    out = [w]
    for _ in range(n_words - 1):
        nxt = model.get(w)
        w = rng.choice(nxt) if nxt else rng.choice(starts)
        out.append(w)
    return " ".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000])
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    docs = load(args.corpus)
    rng = random.Random(args.seed)
    by_lang: dict[str, list[str]] = defaultdict(list)
    for d in docs:
        by_lang[d["lang"]].append(d["_text"])
    models = {lang: bigram_model(ts) for lang, ts in by_lang.items()}
    starts = {lang: [t.split()[0] for t in ts] for lang, ts in by_lang.items()}
    langs = [d["lang"] for d in docs]  # same language mix as the corpus

    index: dict[int, list[int]] = defaultdict(list)
    sigs: list[bytes] = []
    print(
        f"NUM_PERM={st.NUM_PERM} SHINGLE_K={st.SHINGLE_K} BANDS={st.BANDS} ROWS={st.ROWS} "
        f"THRESHOLD={st.THRESHOLD}; synthetic bigram-chain articles of 100-250 words"
    )
    print("index size | cand/article mean  p95  max | best sim max | false joins | ms median  p95")
    for size in sorted(args.sizes):
        while len(sigs) < size:
            lang = rng.choice(langs)
            text = generate(models[lang], starts[lang], rng.randint(100, 250), rng)
            sig = st.signature("", text)
            for k in st.band_keys(sig):
                index[k].append(len(sigs))
            sigs.append(sig)
        n_cands, times, bests = [], [], []
        for _ in range(3):
            for d in docs:
                t0 = time.perf_counter()
                sig = st.signature(d["title"], d["_text"])
                cands: set[int] = set()
                for k in st.band_keys(sig):
                    cands.update(index.get(k, ()))
                sims = st.similarities(sig, [sigs[c] for c in cands])
                best = float(sims.max()) if len(sims) else 0.0
                times.append((time.perf_counter() - t0) * 1e3)
                n_cands.append(len(cands))
                bests.append(best)
        false_joins = sum(b >= st.THRESHOLD for b in bests) // 3
        print(
            f"{size:10d} | {statistics.mean(n_cands):17.1f} {pct(n_cands, 0.95):4d} "
            f"{max(n_cands):4d} | {max(bests):12.3f} | {false_joins:11d} | "
            f"{statistics.median(times):9.3f} {pct(times, 0.95):5.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
