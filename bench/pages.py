"""Saved article pages of the loopback mirror (../shared/mirror), rendered in process as the
mirror serves them: the development corpus, plus N generated articles per site.

    python -m bench.pages OUT_DIR [--corpus ../shared/corpus/dev] [--synthetic N]
    python -m bench.pages OUT_DIR --world OUTLETS ARTICLES   # bench.world's pages instead

Writes OUT_DIR/NNNNN.html (the bytes the mirror sends, in the site's encoding) and
OUT_DIR/urls.tsv (file name, then the page's canonical address). bench.extract and
bench.pipeline read them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "mirror"
CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
BASE = "http://127.0.0.1:8000/"


def save_pages(out: Path, corpus: Path = CORPUS, synthetic: int = 0) -> list[tuple[Path, str]]:
    """Render every reachable article page into `out`; (file, URL) of each."""
    sys.path.insert(0, str(MIRROR))
    from mirrorlib import render
    from mirrorlib.model import World

    world = World([corpus], synthetic=synthetic)
    out.mkdir(parents=True, exist_ok=True)
    saved: list[tuple[Path, str]] = []
    for host in sorted(world.sites):
        site = world.sites[host]
        base = f"{BASE}{host}"
        ctx = render.Ctx(world, site, base)
        for art in site.articles:
            if not art.reachable:
                continue
            path = out / f"{len(saved):05d}.html"
            text = render.article_page(ctx, art)
            path.write_bytes(text.encode(site.encoding, errors="xmlcharrefreplace"))
            saved.append((path, site.url(base, art.path)))
    return _listed(out, saved)


def save_world_pages(out: Path, outlets: int, articles: int) -> list[tuple[Path, str]]:
    """Every article page of bench.world's generated world (what bench.crawl serves)."""
    from bench.world import World

    world = World(outlets, articles)
    out.mkdir(parents=True, exist_ok=True)
    saved: list[tuple[Path, str]] = []
    for outlet in range(outlets):
        for j in range(articles):
            path = out / f"{len(saved):05d}.html"
            path.write_bytes(world.page(outlet, j, 8000))
            saved.append((path, world.url(world.article(outlet, j), 8000)))
    return _listed(out, saved)


def _listed(out: Path, saved: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    lines = "".join(f"{p.name}\t{url}\n" for p, url in saved)
    (out / "urls.tsv").write_text(lines, encoding="utf-8")
    return saved


def load_pages(folder: Path) -> list[tuple[Path, str]]:
    """(file, URL) of the pages `save_pages` wrote into `folder`."""
    rows = (line.split("\t") for line in (folder / "urls.tsv").read_text("utf-8").splitlines())
    return [(folder / name, url) for name, url in rows]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--synthetic", type=int, default=0, metavar="N")
    ap.add_argument("--world", type=int, nargs=2, metavar=("OUTLETS", "ARTICLES"))
    args = ap.parse_args()
    if args.world:
        saved = save_world_pages(args.out, *args.world)
    else:
        saved = save_pages(args.out, args.corpus, args.synthetic)
    print(f"{len(saved)} pages in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
