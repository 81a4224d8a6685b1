"""The benchmark world: N outlets x M articles, as heavy as real Moroccan news sites.

Deterministic from (seed, outlet, article): the server (bench.server) builds every page,
feed and sitemap on demand from this module, and the query benchmark (bench.gendb) reuses
its text pools.

- Outlet i is served on its own loopback address 127.0.0.(2 + i) (one Scrapy download slot
  and one robots.txt per outlet, as with real sites), all on the same port.
- Languages cycle fr, fr, ar, en, fr, ar, fr, en, fr, ar (50 % fr, 30 % ar, 20 % en).
- Odd outlets publish one RSS feed listing all their M articles; even outlets publish an
  RSS feed of the newest 50 and a Google News sitemap index whose children hold 1000 URLs
  each (so feeds and sitemaps overlap, as they do in real life).
- Articles are published over the last 60 hours (news sitemaps are read 3 days back).
- Bodies are assembled from /work/shared/corpus/dev paragraphs: about one article in ten
  opens with the title, lead and signing sentences of a positive (agreement) corpus article;
  every other sentence comes from negative articles, with about one word in three swapped
  for another word of the same language and every number redrawn, so that pages are
  distinct and not near-duplicates of each other (see `python -m bench.world --check`).
- Pages weigh 80 to 150 KB: head with metas, JSON-LD, stylesheets, an inline style and
  inline scripts; a header menu, a ticker, breadcrumbs, the article, share and tag blocks,
  related and most-read lists, comments, a footer and trailing scripts.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cached_property, lru_cache
from pathlib import Path

CORPUS = Path("/work/shared/corpus/dev")
LANG_CYCLE = ["fr", "fr", "ar", "en", "fr", "ar", "fr", "en", "fr", "ar"]
OUTLET_NAMES = [
    "lematin", "leseco", "hespress-ar", "mwn", "le360", "alyaoum24", "medias24", "hespress-en",
    "lavieeco", "akhbarona", "challenge", "telquel", "assabah", "mapexpress-en", "aujourdhui",
    "almassae", "lopinion", "northafricapost", "leconomiste", "barlamane", "boursenews",
    "finances-news", "febrayer", "yabiladi-en", "lnt", "chouf", "h24info", "ecoactu",
    "lesinfos", "hibapress", "ledesk", "maroc-diplomatique", "snrtnews-ar", "mapexpress-ar",
    "industries-du-maroc", "lematin-en", "lobservateur", "alakhbar", "consonews", "sapress",
]  # fmt: skip
SECTIONS = {
    "fr": ["economie", "entreprises", "industrie", "finance", "regions", "societe", "monde"],
    "ar": ["iqtisad", "mal-wa-amal", "sinaa", "jihat", "mujtama", "duwali"],
    "en": ["economy", "business", "industry", "finance", "regions", "society", "world"],
}
MENU_WORDS = {
    "fr": "Actualité Économie Politique Société Culture Sport Monde Régions Entreprises Bourse "
    "Industrie Énergie Automobile Immobilier Tourisme Emploi Opinions Vidéos Podcasts Dossiers",
    "ar": "أخبار اقتصاد سياسة مجتمع ثقافة رياضة دولية جهات مقاولات بورصة صناعة طاقة سيارات "
    "عقار سياحة تشغيل رأي فيديو بودكاست ملفات",
    "en": "News Economy Politics Society Culture Sports World Regions Business Markets Industry "
    "Energy Automotive RealEstate Tourism Jobs Opinion Videos Podcasts Features",
}
AUTHORS = {
    "fr": ["Amine Benali", "Sara El Idrissi", "Youssef Tazi", "Nadia Chraibi", "La Rédaction"],
    "ar": ["محمد الإدريسي", "سعاد بناني", "يوسف العلوي", "هيئة التحرير"],
    "en": ["Karim Alaoui", "Salma Bennis", "Omar Fassi", "Editorial Team"],
}
WINDOW_HOURS = 60
FEED_LATEST = 50
SITEMAP_CHUNK = 1000
SENT_RE = re.compile(r"(?<=[.!?؟])\s+")
WORD_RE = re.compile(r"\w+")
NUM_RE = re.compile(r"\d+")
SIGNING_RE = re.compile(
    r"sign|conclu|paraph|accord|convention|partenariat|agreement|deal|joint|memorandum|mou\b"
    r"|contrat|contract|وق[ّ]?ع|توقيع|أبرم|إبرام|اتفاق|شراك|مذكرة|عقد",
    re.I,
)
HOST_BASE = 2  # outlet i lives on 127.0.0.(HOST_BASE + i)


# -- text pools -------------------------------------------------------------------------------


@dataclass
class Pools:
    """Corpus material per language."""

    positives: dict[str, list[dict]]  # lang -> [{title, lead, opening: [sentences]}]
    sentences: dict[str, list[str]]  # lang -> sentences of negative articles
    titles: dict[str, list[str]]  # lang -> titles of negative articles
    vocab: dict[str, list[str]]  # lang -> words (>= 4 letters) of negative articles


@lru_cache(maxsize=1)
def pools(corpus: Path = CORPUS) -> Pools:
    positives: dict[str, list[dict]] = {}
    sentences: dict[str, list[str]] = {}
    titles: dict[str, list[str]] = {}
    vocab: dict[str, set[str]] = {}
    for path in sorted(corpus.glob("d*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        if d.get("variant_of"):
            continue
        lang = d["lang"]
        sents = [s for p in d["body"] for s in SENT_RE.split(p) if len(s) > 20]
        if d["label"]["is_agreement"]:
            positives.setdefault(lang, []).append(
                {"title": d["title"], "lead": d.get("lead") or "", "opening": sents[:3]}
            )
        else:  # hard negatives' signing sentences would turn positive out of context
            sentences.setdefault(lang, []).extend(s for s in sents if not SIGNING_RE.search(s))
            if not SIGNING_RE.search(d["title"]):
                titles.setdefault(lang, []).append(d["title"])
            for s in sents:
                vocab.setdefault(lang, set()).update(
                    w for w in WORD_RE.findall(s) if len(w) > 3 and not SIGNING_RE.search(w)
                )
    return Pools(positives, sentences, titles, {k: sorted(v) for k, v in vocab.items()})


def vary(sentence: str, rng: random.Random, words: list[str], rate: float = 0.33) -> str:
    """The sentence with about `rate` of its longer words swapped and every number redrawn."""

    def swap(m: re.Match) -> str:
        w = m.group(0)
        if w.isdigit():
            return str(rng.randint(2, 999)) if len(w) < 4 else str(rng.randint(1000, 9999))
        if len(w) > 3 and rng.random() < rate:
            return rng.choice(words)
        return w

    return WORD_RE.sub(swap, sentence)


def renumber(sentence: str, rng: random.Random) -> str:
    return NUM_RE.sub(
        lambda m: str(rng.randint(2, 99) if len(m.group(0)) < 3 else rng.randint(100, 9999)),
        sentence,
    )


# -- the world --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outlet:
    index: int
    name: str
    language: str
    host: str
    has_sitemap: bool
    style: int  # which page template family (0: WordPress, 1: Drupal, 2: custom)


@dataclass
class Article:
    outlet: Outlet
    index: int
    path: str
    title: str
    lead: str
    paragraphs: list[str]
    published: datetime
    author: str
    section: str
    seeded_agreement: bool


class World:
    """N outlets x M articles; everything derived from the seed and a fixed `now`."""

    def __init__(self, outlets: int, articles: int, seed: int = 7, now: datetime | None = None):
        self.n_outlets = outlets
        self.n_articles = articles
        self.seed = seed
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.pools = pools()

    @cached_property
    def outlets(self) -> list[Outlet]:
        out = []
        for i in range(self.n_outlets):
            base = OUTLET_NAMES[i % len(OUTLET_NAMES)]
            name = base if i < len(OUTLET_NAMES) else f"{base}-{i // len(OUTLET_NAMES)}"
            out.append(
                Outlet(i, name, LANG_CYCLE[i % 10], f"127.0.0.{HOST_BASE + i}", i % 2 == 0, i % 3)
            )
        return out

    def rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(map(str, (self.seed, *parts))))

    def published(self, outlet: int, j: int) -> datetime:
        """Article j of an outlet: j = 0 is the newest."""
        step = WINDOW_HOURS * 3600 / max(1, self.n_articles)
        return self.now - timedelta(seconds=int(j * step + 60 + (outlet * 37) % 600))

    def article(self, outlet: int, j: int) -> Article:
        o = self.outlets[outlet]
        lang = o.language
        p = self.pools
        rng = self.rng("a", outlet, j)
        words = p.vocab[lang]
        agreement = rng.random() < 0.10
        if agreement:
            base = rng.choice(p.positives[lang])
            title = renumber(base["title"], rng)
            lead = renumber(base["lead"], rng)
            opening = [renumber(s, rng) for s in base["opening"]]
        else:
            title = vary(rng.choice(p.titles[lang]), rng, words, 0.4)
            lead = vary(rng.choice(p.sentences[lang]), rng, words) if rng.random() < 0.4 else ""
            opening = []
        sents = opening + [
            vary(s, rng, words) for s in rng.sample(p.sentences[lang], rng.randint(14, 26))
        ]
        paragraphs = []
        while sents:
            k = rng.randint(2, 4)
            paragraphs.append(" ".join(sents[:k]))
            sents = sents[k:]
        section = rng.choice(SECTIONS[lang])
        slug = slugify(title) if lang != "ar" else f"khabar-{rng.randint(10000, 99999)}"
        path = f"/{section}/{slug[:80]}-{outlet}{j:06d}.html"
        return Article(
            o, j, path, title, lead, paragraphs, self.published(outlet, j),
            rng.choice(AUTHORS[lang]), section, agreement,
        )  # fmt: skip

    def locate(self, outlet: int, path: str) -> int | None:
        """The article index for a path of this outlet (the id ends the path)."""
        m = re.search(r"-(\d+)\.html$", path)
        if not m:
            return None
        digits = m.group(1)
        prefix = str(outlet)
        if not digits.startswith(prefix) or len(digits) != len(prefix) + 6:
            return None
        j = int(digits[len(prefix) :])
        return j if j < self.n_articles else None

    def url(self, article: Article, port: int) -> str:
        return f"http://{article.outlet.host}:{port}{article.path}"

    # -- listings -----------------------------------------------------------------------------

    def feed(self, outlet: int, port: int) -> bytes:
        o = self.outlets[outlet]
        count = min(FEED_LATEST, self.n_articles) if o.has_sitemap else self.n_articles
        items = []
        for j in range(count):
            a = self.article(outlet, j)
            link = self.url(a, port)
            if outlet % 4 == 1:
                link += "?utm_source=rss&utm_medium=feed"  # canonicalised away by veille
            items.append(
                "<item>"
                f"<title>{esc(a.title)}</title><link>{esc(link)}</link>"
                f'<guid isPermaLink="false">{o.name}-{j}</guid>'
                f"<pubDate>{format_datetime(a.published, usegmt=True)}</pubDate>"
                f"<dc:creator>{esc(a.author)}</dc:creator><category>{a.section}</category>"
                f"<description>{esc((a.lead or a.paragraphs[0])[:300])}</description>"
                "</item>"
            )
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
            f"<channel><title>{o.name}</title><link>http://{o.host}:{port}/</link>"
            f"<description>{o.name} news</description><language>{o.language}</language>"
            f"<lastBuildDate>{format_datetime(self.now, usegmt=True)}</lastBuildDate>"
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>"
        )
        return (head + "".join(items) + "</channel></rss>").encode()

    def sitemap_children(self) -> int:
        return max(1, -(-self.n_articles // SITEMAP_CHUNK))

    def sitemap_index(self, outlet: int, port: int) -> bytes:
        o = self.outlets[outlet]
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        parts.append('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
        for k in range(self.sitemap_children()):
            newest = self.published(outlet, k * SITEMAP_CHUNK)
            parts.append(
                f"<sitemap><loc>http://{o.host}:{port}/sitemap-news-{k + 1}.xml</loc>"
                f"<lastmod>{newest.isoformat()}</lastmod></sitemap>"
            )
        parts.append("</sitemapindex>")
        return "".join(parts).encode()

    def sitemap_child(self, outlet: int, k: int, port: int) -> bytes | None:
        if not 0 <= k < self.sitemap_children():
            return None
        o = self.outlets[outlet]
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset '
            'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        ]
        for j in range(k * SITEMAP_CHUNK, min(self.n_articles, (k + 1) * SITEMAP_CHUNK)):
            a = self.article(outlet, j)
            parts.append(
                f"<url><loc>{esc(self.url(a, port))}</loc><news:news><news:publication>"
                f"<news:name>{o.name}</news:name><news:language>{o.language}</news:language>"
                f"</news:publication><news:publication_date>{a.published.isoformat()}"
                f"</news:publication_date><news:title>{esc(a.title)}</news:title>"
                "</news:news></url>"
            )
        parts.append("</urlset>")
        return "".join(parts).encode()

    def robots(self, outlet: int, port: int) -> bytes:
        o = self.outlets[outlet]
        lines = ["User-agent: *", "Disallow: /wp-admin/", "Disallow: /recherche/"]
        if o.has_sitemap:
            lines.append(f"Sitemap: http://{o.host}:{port}/sitemap-news.xml")
        return ("\n".join(lines) + "\n").encode()

    def sources_toml(self, port: int) -> str:
        out = ['interval = "30m"\n']
        for o in self.outlets:
            base = f"http://{o.host}:{port}"
            out.append(
                f'[[source]]\nname = "{o.name}"\nlanguage = "{o.language}"\n'
                f'feeds = ["{base}/feed/"]\n'
                + (f'sitemaps = ["{base}/sitemap-news.xml"]\n' if o.has_sitemap else "")
            )
        return "\n".join(out)

    # -- pages --------------------------------------------------------------------------------

    @lru_cache(maxsize=64)  # noqa: B019 (one world per process)
    def chrome(self, outlet: int) -> dict[str, str]:
        """Per-outlet static parts: stylesheet, menu, footer, scripts."""
        o = self.outlets[outlet]
        rng = self.rng("chrome", outlet)
        menu_words = MENU_WORDS[o.language].split()
        css = []
        for k in range(rng.randint(250, 400)):
            cls = f".{o.name[:3]}-{rng.choice(['hd', 'nav', 'bx', 'td', 'col', 'wg'])}-{k}"
            css.append(
                f"{cls}{{margin:{rng.randint(0, 40)}px {rng.randint(0, 40)}px;"
                f"padding:{rng.randint(0, 20)}px;color:#{rng.randbytes(3).hex()};"
                f"font-size:{rng.randint(10, 24)}px;line-height:1.{rng.randint(1, 8)}}}"
                f"@media (max-width:{rng.choice([480, 768, 1024])}px){{{cls}{{display:"
                f"{rng.choice(['none', 'block', 'flex'])}}}}}"
            )
        items = []
        for k, w in enumerate(menu_words):
            subs = "".join(
                f'<li class="menu-item menu-item-{k}-{s}"><a href="/{slugify(w)}/{s}/">'
                f"{html.escape(rng.choice(menu_words))}</a></li>"
                for s in range(rng.randint(2, 6))
            )
            items.append(
                f'<li class="menu-item menu-item-has-children"><a href="/{slugify(w)}/">'
                f'{html.escape(w)}</a><ul class="sub-menu">{subs}</ul></li>'
            )
        menu = (
            f'<nav class="main-nav" role="navigation"><ul class="menu">{"".join(items)}</ul></nav>'
        )
        footer_links = "".join(
            f'<li><a href="/page/{slugify(rng.choice(menu_words))}-{k}/">'
            f"{html.escape(rng.choice(menu_words))}</a></li>"
            for k in range(60)
        )
        footer = (
            f'<footer class="site-footer"><div class="footer-cols">'
            f'<ul class="footer-menu">{footer_links}</ul></div>'
            f'<p class="copyright">© 2025 {o.name}. Tous droits réservés.</p></footer>'
        )
        fn = []
        for k in range(rng.randint(60, 110)):
            fn.append(
                f"function _{rng.randbytes(3).hex()}(e,t){{var n=document.querySelectorAll("
                f"'.{o.name[:3]}-wg-{k}');for(var r=0;r<n.length;r++){{n[r].addEventListener("
                f"'click',function(i){{i.preventDefault();window.dataLayer=window.dataLayer||[];"
                f"dataLayer.push({{event:'ev{k}',label:t,value:{rng.randint(0, 999)}}})}})}}"
                f"return e&&e.length>{rng.randint(1, 9)}?e.slice(0,{rng.randint(1, 9)}):t}}"
            )
        return {
            "css": "".join(css),
            "menu": menu,
            "footer": footer,
            "js": "".join(fn),
            "site": o.name.replace("-", " ").title(),
        }

    def page(self, outlet: int, j: int, port: int) -> bytes:
        a = self.article(outlet, j)
        o = a.outlet
        c = self.chrome(outlet)
        rng = self.rng("page", outlet, j)
        lang = o.language
        url = self.url(a, port)
        site = c["site"]
        date = a.published.isoformat()
        ld = json.dumps(
            {
                "@context": "https://schema.org",
                "@graph": [
                    {"@type": "Organization", "name": site, "url": f"http://{o.host}:{port}/"},
                    {
                        "@type": "NewsArticle",
                        "headline": a.title,
                        "datePublished": date,
                        "dateModified": date,
                        "author": {"@type": "Person", "name": a.author},
                        "mainEntityOfPage": url,
                        "publisher": {"@type": "Organization", "name": site},
                    },
                ],
            },
            ensure_ascii=False,
        )
        related = []
        for k in range(rng.randint(18, 30)):
            jj = rng.randrange(self.n_articles)
            t = rng.choice(self.pools.titles[lang])
            related.append(
                f'<li class="related-item"><a href="/{a.section}/r-{outlet}{jj:06d}-{k}.html">'
                f'<img src="/wp-content/uploads/2025/11/img-{rng.randint(1000, 99999)}-300x200.jpg" '
                f'alt="" loading="lazy" width="300" height="200"></a><div class="meta">'
                f'<h3><a href="/{a.section}/r-{outlet}{jj:06d}-{k}.html">{esc(t)}</a></h3>'
                f'<span class="date">{(a.published - timedelta(hours=k)).strftime("%d/%m/%Y")}'
                "</span></div></li>"
            )
        most_read = "".join(
            f'<li><span class="n">{k + 1}</span><a href="/{a.section}/m-{k}-{rng.randint(1, 99999)}.html">'
            f"{esc(rng.choice(self.pools.titles[lang]))}</a></li>"
            for k in range(10)
        )
        ticker = "".join(
            f'<li><a href="/flash/{rng.randint(1, 999999)}.html">{esc(rng.choice(self.pools.titles[lang]))}</a></li>'
            for _ in range(8)
        )
        body = "".join(f"<p>{esc(p)}</p>" for p in a.paragraphs)
        if len(a.paragraphs) > 3:  # an ad and a "read also" inside the article, as in real pages
            cut = len(a.paragraphs) // 2
            ps = [f"<p>{esc(p)}</p>" for p in a.paragraphs]
            ps.insert(cut, '<div class="ad-inarticle" id="div-gpt-ad-12345-2"></div>')
            body = "".join(ps)
        comments = "".join(
            f'<li class="comment"><div class="comment-author">{esc(rng.choice(AUTHORS[lang]))}'
            f'</div><div class="comment-body"><p>{esc(vary(rng.choice(self.pools.sentences[lang]), rng, self.pools.vocab[lang]))}</p></div></li>'
            for _ in range(rng.randint(0, 6))
        )
        tags = "".join(
            f'<a href="/tag/{slugify(w)}/" rel="tag">{esc(w)}</a>'
            for w in rng.sample(self.pools.vocab[lang], 6)
        )
        lead = f'<p class="lead"><strong>{esc(a.lead)}</strong></p>' if a.lead else ""
        wrap = ["td-post-content tagdiv-type", "field field--name-body", "article-body"][o.style]
        head = (
            f'<!DOCTYPE html><html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}"><head>'
            f'<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(a.title)} - {esc(site)}</title>"
            f'<meta name="description" content="{esc((a.lead or a.paragraphs[0])[:160])}">'
            f'<link rel="canonical" href="{esc(url)}">'
            f'<meta property="og:type" content="article"><meta property="og:title" content="{esc(a.title)}">'
            f'<meta property="og:url" content="{esc(url)}"><meta property="og:site_name" content="{esc(site)}">'
            f'<meta property="og:image" content="http://{o.host}:{port}/img/{j}.jpg">'
            f'<meta property="article:published_time" content="{date}">'
            f'<meta property="article:section" content="{a.section}">'
            f'<meta name="author" content="{esc(a.author)}">'
            + "".join(
                f'<link rel="stylesheet" href="/wp-content/themes/t/css/{k}.css?ver=6.{k}" media="all">'
                for k in range(12)
            )
            + f"<style>{c['css']}</style>"
            + f'<script type="application/ld+json">{ld}</script>'
            + "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
            "gtag('js',new Date());gtag('config','G-XXXX');</script>"
            + f"<script>{c['js']}</script></head>"
        )
        body_html = (
            f'<body class="post-template-default single single-post postid-{j} {a.section}">'
            f'<div id="page"><header class="site-header"><div class="top-bar"><span class="date">'
            f'{self.now.strftime("%A %d %B %Y")}</span><span class="weather">Casablanca 21°C</span>'
            f'</div><div class="logo"><a href="/"><img src="/logo.png" alt="{esc(site)}"></a></div>'
            f'{c["menu"]}<div class="ticker"><span>Flash</span><ul>{ticker}</ul></div></header>'
            f'<div class="ad-leaderboard" id="div-gpt-ad-12345-1"></div>'
            f'<main id="main"><div class="container"><div class="col-main">'
            f'<nav class="breadcrumb"><a href="/">Accueil</a> › <a href="/{a.section}/">{a.section}</a></nav>'
            f'<article class="post type-post"><header class="entry-header">'
            f'<h1 class="entry-title">{esc(a.title)}</h1><div class="entry-meta">'
            f'<span class="author">{esc(a.author)}</span> '
            f'<time class="entry-date" datetime="{date}">{a.published.strftime("%d/%m/%Y %H:%M")}</time>'
            f"</div></header>"
            f'<div class="{wrap}">{lead}{body}</div>'
            f'<div class="share"><a href="https://facebook.com/sharer?u={esc(url)}">Facebook</a>'
            f'<a href="https://twitter.com/intent/tweet?url={esc(url)}">X</a>'
            f'<a href="https://wa.me/?text={esc(url)}">WhatsApp</a></div>'
            f'<div class="tags">{tags}</div></article>'
            f'<section class="related"><h2>Articles similaires</h2><ul>{"".join(related)}</ul></section>'
            f'<section class="comments"><h2>Commentaires</h2><ol>{comments}</ol></section>'
            f'</div><aside class="sidebar"><div class="widget most-read"><h2>Les plus lus</h2>'
            f'<ol>{most_read}</ol></div><div class="ad-sidebar" id="div-gpt-ad-12345-3"></div>'
            f"</aside></div></main>{c['footer']}</div>"
        )
        page = head + body_html
        # trailing scripts: state blob up to the page's target weight (80 to 150 KB)
        target = rng.randint(80, 150) * 1024
        size = len(page.encode())
        pad = max(0, target - size - 200)
        blob = rng.randbytes(pad // 2 * 3 // 4 + 1).hex()[: pad // 2] if pad else ""
        state = json.dumps({"postId": j, "site": o.name, "ads": {"slots": [1, 2, 3], "k": blob}})
        tail = (
            f'<script id="__STATE__" type="application/json">{state}</script>'
            f"<script>(function(){{var s=document.createElement('script');s.async=1;"
            f"s.src='/js/app.{rng.randbytes(4).hex()}.js';document.body.appendChild(s)}})();"
            f"</script></body></html>"
        )
        out = (page + tail).encode()
        if len(out) < target:  # multibyte text: top up with a comment
            out = out[:-14] + b"<!-- " + b"x" * (target - len(out)) + b" --></body></html>"
        return out


def esc(s: str) -> str:
    return html.escape(s, quote=True)


def slugify(text: str) -> str:
    import unicodedata

    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", t).strip("-") or "article"


def etag(*parts: object) -> str:
    return '"' + hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:20] + '"'


# -- self-check -------------------------------------------------------------------------------


def check(outlets: int, articles: int, sample: int) -> None:
    """Page sizes, detector hit rate and near-duplicate pairs on a sample of the world."""
    import itertools
    import statistics
    import time

    from crawler.core import stories
    from crawler.core.detection import detect
    from crawler.core.extract import extract

    w = World(outlets, articles)
    sizes, hits, seeded, sigs, t_gen, t_ext = [], 0, 0, [], [], []
    n = 0
    for i in range(outlets):
        for j in range(min(articles, sample // outlets)):
            t0 = time.perf_counter()
            body = w.page(i, j, 8000)
            t_gen.append(time.perf_counter() - t0)
            sizes.append(len(body))
            a = w.article(i, j)
            t0 = time.perf_counter()
            page = extract(body.decode(), w.url(a, 8000))
            t_ext.append(time.perf_counter() - t0)
            v = detect(page.title or "", page.lead or "", page.text, page.language)
            hits += bool(v.is_agreement)
            seeded += a.seeded_agreement
            sigs.append(stories.signature(page.title or "", f"{page.lead}\n{page.text}"))
            n += 1
    sims = [stories.similarity(x, y) for x, y in itertools.combinations(sigs, 2)]
    print(
        f"{n} pages: size KB min/median/max {min(sizes) / 1024:.0f}/"
        f"{statistics.median(sizes) / 1024:.0f}/{max(sizes) / 1024:.0f}; "
        f"generate median {statistics.median(t_gen) * 1e3:.2f} ms; "
        f"veille extract median {statistics.median(t_ext) * 1e3:.1f} ms\n"
        f"agreements detected {hits} ({hits / n:.1%}), seeded {seeded}; "
        f"pairs {len(sims)}: max similarity {max(sims):.3f}, "
        f">= {stories.THRESHOLD}: {sum(s >= stories.THRESHOLD for s in sims)}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--outlets", type=int, default=10)
    ap.add_argument("--articles", type=int, default=100)
    ap.add_argument("--check", type=int, default=300, metavar="SAMPLE")
    ap.add_argument("--dump", metavar="DIR", help="write a few pages and listings to DIR")
    args = ap.parse_args()
    if args.dump:
        w = World(args.outlets, args.articles)
        d = Path(args.dump)
        d.mkdir(parents=True, exist_ok=True)
        for i in range(min(3, args.outlets)):
            (d / f"page-{i}.html").write_bytes(w.page(i, 0, 8000))
            (d / f"feed-{i}.xml").write_bytes(w.feed(i, 8000))
        return
    check(args.outlets, args.articles, args.check)


if __name__ == "__main__":
    main()
