"""crawler.core.extract: fixtures pages end to end, metadata rules, decoding, robustness."""

import time
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from crawler.core.extract import Extracted, decode_html, detect_language, extract
from crawler.core.urls import canonicalize

PAGES = Path(__file__).parent / "fixtures" / "pages"
BASE = "https://example.test"


def load_bytes(name: str) -> bytes:
    return (PAGES / name).read_bytes().replace(b"{BASE}", BASE.encode())


def load_page(name: str, content_type: str | None = "text/html") -> str:
    return decode_html(load_bytes(name), content_type)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# name -> served path, expected metadata, XPath of the article paragraphs in the page,
# strings (chrome, other articles' titles and teasers, comments) that must not be in the text
FIXTURES = {
    "wp_fr_tagdiv.html": {
        "path": "/lenouvelliste/economie/made-in-morocco-accords",
        "title": "Made in Morocco : une série d’accords pour doper l’industrie nationale (Vidéos)",
        "author": "Salma Bennani",
        "date": utc(2025, 11, 4, 8, 0),
        "language": "fr",
        "canonical": BASE + "/lenouvelliste/economie/made-in-morocco-accords",
        "lead_start": "La Journée nationale de l’Industrie",
        "paragraphs": "//div[contains(@class,'td-post-content')]/p",
        "absent": [
            "21.9",
            "Casablanca",
            "mardi 4 novembre 2025",
            "Advertisement",
            "spot_img",
            "Accueil",
            "Politique",
            "Facebook",
            "WhatsApp",
            "Linkedin",
            "Partager",
            "Tags",
            "ARTICLES SIMILAIRES",
            "PLUS DE L'AUTEUR",
            "Eurauto",
            "OFPPT",
            "Atlas BioPharm",
            "Article précédent",
            "Bourse de Casablanca",
            "Les plus lus",
            "Industrie 2030",
            "Tanger Med",
            "conteneurs",
            "protection civile",
            "incendie",
            "Bravo pour ces initiatives",
            "COMMENTAIRE",
            "Enregistrer mon nom",
            "L'invité du Nouvelliste",
            "Restez connectés",
            "Tous droits réservés",
            "Mentions légales",
            "Salma Bennani",
        ],
    },
    "ar_cp1256.html": {
        "path": "/hespress/economie/tawqi-ittifaqiyat-istithmar-sinaat-sayarat-1456789.html",
        "title": "توقيع اتفاقيات استثمار جديدة في صناعة السيارات بقيمة 1,8 مليار درهم",
        "author": "عبد الرحيم العلوي",
        "date": utc(2024, 11, 20, 12, 0),
        "language": "ar",
        "canonical": BASE
        + "/hespress/economie/tawqi-ittifaqiyat-istithmar-sinaat-sayarat-1456789.html",
        "lead_start": "ترأس وزير الصناعة والتجارة بالرباط",
        "paragraphs": "//div[@class='article-content']/p",
        "absent": [
            "الخميس 21 نونبر 2024",
            "الرباط 19",
            "اتصل بنا",
            "الرئيسية",
            "فن وثقافة",
            "شارك",
            "فيسبوك",
            "واتساب",
            "صورة: هسبريس",
            "إعلان",
            "وسوم",
            "مقالات ذات صلة",
            "1,8 مليار درهم لمشاريع جديدة",
            "صادرات قطاع الطيران",
            "صناعة الطيران بالمغرب",
            "الأكثر قراءة",
            "عمال مصنع للنسيج",
            "المعرض الدولي للفلاحة",
            "التعليقات",
            "خطوة مهمة",
            "المقاولات المغربية الصغيرة",
            "أضف تعليقك",
            "جميع الحقوق محفوظة",
            "عبد الرحيم العلوي",
        ],
    },
    "amp_fr.html": {
        "path": "/lematin/entreprises/industrie-ferroviaire-coentreprise-bogies-kenitra/amp",
        "title": "Industrie ferroviaire : une coentreprise pour fabriquer des bogies à Kénitra",
        "author": "Omar Tazi",
        "date": utc(2025, 10, 11, 11, 15),
        "language": "fr",
        "canonical": BASE
        + "/lematin/entreprises/industrie-ferroviaire-coentreprise-bogies-kenitra",
        "lead_start": "L'ONCF, un constructeur européen",
        "paragraphs": "//div[@class='article-body']/p",
        "absent": [
            "Fermer",
            "Accueil",
            "Nation",
            "Publicité",
            "À lire aussi",
            "Équipementiers automobiles",
            "Convention nationale des industriels",
            "Hydrogène vert",
            "Photo d'illustration",
            "Voir la version complète",
            "Tous droits réservés",
            "Omar Tazi",
            "11 octobre 2025",
        ],
    },
    "en_article.html": {
        "path": "/moroccoworldnews/2024/09/367120/"
        "morocco-signs-350-million-investment-agreement-for-tire-plant-in-tangier-tech-city",
        "title": "Morocco Signs $350 Million Investment Agreement for Tire Plant in Tangier Tech City",
        "author": "Hamza Guessous",
        "date": utc(2024, 9, 12, 16, 40),
        "language": "en",
        "canonical": BASE + "/moroccoworldnews/2024/09/367120/"
        "morocco-signs-350-million-investment-agreement-for-tire-plant-in-tangier-tech-city",
        "lead_start": "The Chinese manufacturer plans",
        "paragraphs": "//div[@class='entry-content']/p",
        "absent": [
            "Skip to content",
            "Breaking",
            "Royal Air Maroc",
            "Wydad",
            "Subscribe",
            "Politics",
            "Share",
            "Copy link",
            "Photo: File",
            "3 min read",
            "Read also",
            "Chinese EV Battery Makers",
            "Advertisement",
            "Tags:",
            "business reporter",
            "Related Posts",
            "biosimilars",
            "Electric Vehicles Enters",
            "Most Read",
            "Estonia",
            "English teaching",
            "Newsletter",
            "inbox",
            "All rights reserved",
            "Privacy Policy",
            "Hamza Guessous",
        ],
    },
    "fr_no_meta.html": {
        "path": "/lematin/economie/equipementiers-automobiles-investissements-conventionnes",
        "title": "Équipementiers automobiles : 2,4 milliards de dirhams d'investissements conventionnés",
        "author": "MAP",
        "date": utc(2025, 3, 18, 17, 45),  # Ramadan 2025: Morocco on UTC+0
        "language": "fr",  # despite <html lang="en">
        "canonical": None,
        "lead_start": "Quelque 5 800 emplois directs",
        "paragraphs": "//div[@class='texte-article']/p",
        "absent": [
            "Jeudi 20 Mars 2025",
            "Rabat 18",
            "S'abonner",
            "Le journal du jour",
            "Publicité",
            "Accueil",
            "Régions",
            "Partager",
            "Tweeter",
            "Imprimer",
            "Publié le",
            "Mis à jour",
            "Par MAP",
            "Ph. Archives",
            "Mots-clés",
            "Lire aussi",
            "Industrie ferroviaire",
            "Convention nationale",
            "Dernières infos",
            "PLF 2026",
            "Pêche maritime",
            "Hydrogène vert",
            "Quotidien marocain",
            "Route de Nouasseur",
            "Tous droits réservés",
            "- Le Matin",
        ],
    },
    "truncated.html": {
        "path": "/leseco/business/tanger-med-trafic-conteneurs-10-millions-evp.html",
        "title": "Tanger Med : le trafic conteneurs dépasse les 10 millions d'EVP",
        "author": "Rédaction",
        "date": utc(2025, 1, 22, 14, 30),
        "language": "fr",
        "canonical": BASE + "/leseco/business/tanger-med-trafic-conteneurs-10-millions-evp.html",
        "lead_start": "Le complexe portuaire Tanger Med",
        "paragraphs": "//div[@class='content-inner']/p",
        "absent": [
            "mercredi, janvier 22, 2025",
            "Facebook",
            "Accueil",
            "Business",
            "Partager",
            "Marhaba",  # after the cut
        ],
    },
}


def page_url(name: str) -> str:
    return BASE + FIXTURES[name]["path"]


@pytest.fixture(scope="module", params=sorted(FIXTURES))
def case(request):
    name = request.param
    spec = FIXTURES[name]
    html = load_page(name)
    return name, spec, html, extract(html, page_url(name))


def test_fixture_title(case):
    _, spec, _, ex = case
    assert ex.title == spec["title"]


def test_fixture_author(case):
    _, spec, _, ex = case
    assert ex.author == spec["author"]


def test_fixture_date(case):
    _, spec, _, ex = case
    assert ex.published_at == spec["date"]
    assert ex.published_at.tzinfo is not None


def test_fixture_language(case):
    _, spec, _, ex = case
    assert ex.language == spec["language"]


def test_fixture_canonical(case):
    _, spec, _, ex = case
    assert ex.canonical_url == spec["canonical"]
    if ex.canonical_url is not None:
        assert ex.canonical_url == canonicalize(ex.canonical_url)


def test_fixture_lead(case):
    _, spec, _, ex = case
    assert ex.lead is not None
    assert ex.lead.startswith(spec["lead_start"])


def test_fixture_text_has_all_paragraphs(case):
    _, spec, html, ex = case
    tree = lxml_html.document_fromstring(html)
    paragraphs = [" ".join(p.text_content().split()) for p in tree.xpath(spec["paragraphs"])]
    assert len(paragraphs) >= 3
    for paragraph in paragraphs:
        assert paragraph in ex.text
    # one line per paragraph, nothing else of substance
    lines = ex.text.split("\n")
    assert len(lines) == len(paragraphs)
    assert all(line.strip() == line and line for line in lines)


def test_fixture_text_has_no_boilerplate(case):
    _, spec, _, ex = case
    for needle in spec["absent"]:
        assert needle not in ex.text, needle
    assert spec["title"] not in ex.text


def test_truncated_page_keeps_the_partial_paragraph():
    ex = extract(load_page("truncated.html"), page_url("truncated.html"))
    assert ex.text.endswith("tandis que le trafic des passa")


def test_amp_page_canonical_is_the_article_behind_the_amp_url():
    url = page_url("amp_fr.html") + "?amp=1&utm_source=rss"
    ex = extract(load_page("amp_fr.html"), url)
    assert ex.canonical_url == canonicalize(url)


def test_arabic_page_decoded_from_meta_only():
    body = load_bytes("ar_cp1256.html")
    assert b"charset=windows-1256" in body
    for content_type in ("text/html", None, b"text/html"):
        html = decode_html(body, content_type)
        assert "توقيع اتفاقيات استثمار" in html
        assert "\ufffd" not in html


# --------------------------------------------------------------------------- decode_html


def test_decode_utf8_with_bom():
    body = "\ufeff<html><head><title>Économie</title></head><body><p>Café à Rabat</p></body></html>"
    html = decode_html(body.encode("utf-8"))
    assert html.startswith("<html>")
    assert "Économie" in html and "Café à Rabat" in html


def test_decode_bom_beats_a_wrong_header():
    body = "\ufeff<p>Économie</p>".encode()
    assert "Économie" in decode_html(body, "text/html; charset=iso-8859-1")


def test_decode_latin1_declared_in_header():
    body = "<html><body><p>Café, élève, août</p></body></html>".encode("latin-1")
    assert "Café, élève, août" in decode_html(body, "text/html; charset=ISO-8859-1")


def test_decode_header_beats_meta():
    body = '<html><head><meta charset="utf-8"></head><body><p>اتفاقية</p></body></html>'.encode(
        "cp1256"
    )
    assert "اتفاقية" in decode_html(body, "text/html; charset=windows-1256")


def test_decode_meta_http_equiv_after_long_head():
    head = "<script>" + "var x = 1;\n" * 600 + "</script>"
    page = (
        f"<html><head>{head}"
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
        "</head><body><p>صناعة السيارات</p></body></html>"
    )
    assert "صناعة السيارات" in decode_html(page.encode("cp1256"), None)


def test_decode_undeclared_utf8_and_cp1256():
    page = "<html><body><p>توقيع اتفاقيات استثمار جديدة في صناعة السيارات بالقنيطرة وطنجة</p></body></html>"
    assert "صناعة السيارات" in decode_html(page.encode("utf-8"))
    assert "صناعة السيارات" in decode_html(page.encode("cp1256"))


def test_decode_edge_cases():
    assert decode_html(b"") == ""
    assert decode_html("déjà str") == "déjà str"
    assert isinstance(decode_html(b"\xff\xfe\x00\x00garbage\x80\x81"), str)
    assert isinstance(decode_html(b"<p>x</p>", "text/html; charset=no-such-charset"), str)


# --------------------------------------------------------------------------- metadata rules


def page(head: str = "", body: str = "", lang: str | None = "fr") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return f"<!DOCTYPE html><html{lang_attr}><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


ARTICLE_FR = (
    "<article><h1>Un titre d'article assez long</h1>"
    "<p>Le ministère de l'Industrie et la CGEM ont signé une convention pour la formation des jeunes "
    "techniciens dans les zones industrielles de Tanger et de Kénitra, selon un communiqué.</p>"
    "<p>Cette convention prévoit aussi la création d'un centre de formation dédié aux métiers de "
    "l'automobile, qui accueillera ses premiers stagiaires dès la rentrée prochaine.</p></article>"
)


def test_jsonld_list_and_graph_with_author_reference():
    jsonld = (
        '<script type="application/ld+json">[{"@type":"Organization","name":"Le Site"},'
        '{"@context":"https://schema.org","@graph":[{"@type":["NewsArticle"],"headline":"Titre JSON-LD",'
        '"datePublished":"2025-06-01T10:00:00+01:00","author":{"@id":"#p1"}},'
        '{"@type":"Person","@id":"#p1","name":"Nadia Lahlou"}]}]</script>'
    )
    ex = extract(page(jsonld, ARTICLE_FR), "https://example.test/a")
    assert ex.title == "Titre JSON-LD"
    assert ex.author == "Nadia Lahlou"
    assert ex.published_at == utc(2025, 6, 1, 9, 0)


def test_jsonld_broken_or_with_trailing_comma():
    head = (
        '<script type="application/ld+json">{"@type":"Article","datePublished":"2025-06-01",}</script>'
        '<script type="application/ld+json">{not json</script>'
    )
    ex = extract(page(head, ARTICLE_FR), "https://example.test/a")
    assert ex.published_at == utc(2025, 5, 31, 23, 0)


def test_date_priority_markup_then_feed_then_text():
    jsonld = '<script type="application/ld+json">{"@type":"Article","datePublished":"2025-01-01T10:00:00Z"}</script>'
    meta = '<meta property="article:published_time" content="2025-02-02T10:00:00Z">'
    time_el = '<time datetime="2025-03-03T10:00:00Z">3 mars</time>'
    text_date = "<p>Publié le 4 mai 2025 à 10h00</p>"
    feed = utc(2025, 6, 5, 10, 0)
    url = "https://example.test/a"
    body = ARTICLE_FR.replace("</h1>", "</h1>" + text_date)
    assert extract(page(jsonld, body), url, feed_date=feed).published_at == utc(2025, 1, 1, 10)
    assert extract(page(meta, body), url, feed_date=feed).published_at == utc(2025, 2, 2, 10)
    with_time = ARTICLE_FR.replace("</h1>", "</h1>" + time_el + text_date)
    assert extract(page("", with_time), url, feed_date=feed).published_at == utc(2025, 3, 3, 10)
    body_no_time = ARTICLE_FR.replace("</h1>", "</h1>" + text_date)
    assert extract(page("", body_no_time), url, feed_date=feed).published_at == feed
    assert extract(page("", body_no_time), url).published_at == utc(2025, 5, 4, 9, 0)
    assert extract(page("", ARTICLE_FR), url).published_at is None


def test_date_keeps_the_offset_the_page_gave():
    meta = '<meta property="article:published_time" content="2025-11-04T10:30:00+01:00">'
    got = extract(page(meta, ARTICLE_FR), "https://example.test/a")
    assert got.published_at == utc(2025, 11, 4, 9, 30)
    assert got.published_local is not None
    assert got.published_local.isoformat() == "2025-11-04T10:30:00+01:00"
    no_offset = extract(
        page("", ARTICLE_FR.replace("</h1>", "</h1><p>Publié le 4 mai 2025 à 10h00</p>")), ""
    )
    assert no_offset.published_local is None  # Morocco time assumed, not stated by the page
    fed = extract(page("", ARTICLE_FR), "", feed_date=utc(2025, 6, 5, 10))
    assert fed.published_at == utc(2025, 6, 5, 10) and fed.published_local is None


def test_date_in_the_url_when_the_page_states_none():
    """htmldate reads a WordPress URL's /YYYY/MM/DD/ (a day: midnight Morocco time)."""
    url = "https://example.test/2025/11/04/un-titre/"
    assert extract(page("", ARTICLE_FR), url).published_at == utc(2025, 11, 3, 23)
    # the feed's exact time is better than the URL's bare day
    fed = extract(page("", ARTICLE_FR), url, feed_date=utc(2025, 11, 4, 8, 30))
    assert fed.published_at == utc(2025, 11, 4, 8, 30)


def test_a_byline_under_the_title_beats_a_bare_day_in_the_header():
    """A Moroccan site's header shows today's date; the byline says when the article was
    published: the byline, with its time of day, wins."""
    header = '<div class="date-du-jour">Jeudi 20 Novembre 2025</div>'
    byline = '<span class="date-publication">Publié le 18/11/2025 à 17:45</span>'
    body = header + ARTICLE_FR.replace("</h1>", "</h1>" + byline)
    got = extract(page("", body), "https://example.test/a").published_at
    assert got == utc(2025, 11, 18, 16, 45)  # 17:45 in Morocco (UTC+1)


def test_time_in_an_aside_does_not_override_the_articles():
    chrome = '<aside><time datetime="2020-01-01T00:00:00Z">old</time></aside>'  # most read
    own = '<time class="published" datetime="2025-11-04T10:00:00Z">4 novembre</time>'
    body = ARTICLE_FR.replace("</h1>", "</h1>" + own) + chrome  # sidebar and comments after it
    assert extract(page("", body), "https://example.test/a").published_at == utc(2025, 11, 4, 10)


def test_title_sources_and_suffixes():
    url = "https://example.test/a"
    og = '<meta property="og:title" content="Titre OG - Le Site"><meta property="og:site_name" content="Le Site">'
    assert extract(page(og, ARTICLE_FR), url).title == "Titre OG"
    # og:title that is just the site name is ignored
    og_site = '<meta property="og:title" content="Le Site"><meta property="og:site_name" content="Le Site">'
    assert extract(page(og_site, ARTICLE_FR), url).title == "Un titre d'article assez long"
    # <title> only: the " - SiteName" / " | SiteName" suffix is removed
    for title in (
        "Un long titre sur les accords industriels - Le Matin",
        "Un long titre sur les accords industriels | Médias24",
    ):
        assert extract(page(f"<title>{title}</title>", "<p>x</p>"), url).title == (
            "Un long titre sur les accords industriels"
        )
    # a dash inside the title is kept
    assert (
        extract(page("<title>Maroc - Espagne : un accord sur l'eau</title>", "<p>x</p>"), url).title
        == "Maroc - Espagne : un accord sur l'eau"
    )
    # nothing in the page: the feed title
    assert extract(page("", "<p>x</p>"), url, feed_title=" Titre du flux ").title == "Titre du flux"


def test_author_sources():
    url = "https://example.test/a"
    meta = '<meta name="author" content="Nawal Sbai">'
    assert extract(page(meta, ARTICLE_FR), url).author == "Nawal Sbai"
    byline = ARTICLE_FR.replace("</h1>", '</h1><span class="byline">Par Omar Tazi</span>')
    assert extract(page("", byline), url).author == "Omar Tazi"
    url_author = '<meta property="article:author" content="https://facebook.com/someone">'
    assert extract(page(url_author, ARTICLE_FR), url).author is None


def test_canonical_resolution():
    url = "https://www.example.test/economie/article-1/?utm_source=rss"
    rel = '<link rel="canonical" href="/economie/article-1/?utm_medium=feed">'
    assert (
        extract(page(rel, ARTICLE_FR), url).canonical_url
        == "https://www.example.test/economie/article-1"
    )
    og = '<meta property="og:url" content="https://www.example.test/economie/article-1/amp/">'
    assert (
        extract(page(og, ARTICLE_FR), url).canonical_url
        == "https://www.example.test/economie/article-1"
    )
    # a canonical pointing at the home page is a CMS bug: ignored
    home = '<link rel="canonical" href="https://www.example.test/">'
    assert extract(page(home, ARTICLE_FR), url).canonical_url is None
    bad = '<link rel="canonical" href="javascript:void(0)">'
    assert extract(page(bad, ARTICLE_FR), url).canonical_url is None
    assert extract(page("", ARTICLE_FR), url).canonical_url is None


def test_language_rules():
    url = "https://example.test/a"
    arabic = (
        "<article><h1>عنوان</h1><p>ترأس وزير الصناعة والتجارة اليوم الأربعاء بالرباط مراسم توقيع خمس "
        "اتفاقيات استثمار مع شركات متخصصة في صناعة مكونات السيارات بقيمة إجمالية تبلغ مليار درهم "
        "وستمكن هذه المشاريع من إحداث آلاف مناصب الشغل المباشرة في طنجة والقنيطرة.</p></article>"
    )
    assert extract(page("", arabic, lang="fr"), url).language == "ar"
    assert extract(page("", ARTICLE_FR, lang="en"), url).language == "fr"
    assert extract(page("", ARTICLE_FR, lang=None), url).language == "fr"
    assert extract(page("", ARTICLE_FR, lang="fr-FR"), url).language == "fr"
    # nothing to go on: the declared language, then the hint
    assert extract(page("", "<p>OCP</p>", lang="en"), url).language == "en"
    assert extract(page("", "<p>OCP</p>", lang=None), url, language_hint="ar").language == "ar"
    assert extract(page("", "<p>OCP</p>", lang="es"), url).language is None


def test_detect_language():
    assert detect_language("ترأس وزير الصناعة والتجارة مراسم توقيع اتفاقيات") == "ar"
    assert (
        detect_language("Le ministère et la CGEM ont signé une convention pour les jeunes") == "fr"
    )
    assert (
        detect_language("The ministry and the federation signed an agreement for the plant") == "en"
    )
    assert detect_language("OCP CGEM 2025") is None
    assert detect_language("") is None
    assert detect_language(None) is None  # type: ignore[arg-type]


def test_text_filters_inline_chrome_lines():
    body = (
        "<article><h1>Titre de l'article sur la convention</h1>"
        "<p>Le ministère de l'Industrie et la CGEM ont signé une convention pour la formation des "
        "techniciens dans les zones industrielles de Tanger et de Kénitra, selon un communiqué.</p>"
        "<p>- Advertisement -</p><p>spot_img</p><p>Publicité</p>"
        "<p>Lire aussi : Un autre article sur un autre sujet</p>"
        "<p>Cette convention prévoit aussi la création d'un centre de formation dédié aux métiers de "
        "l'automobile, qui accueillera ses premiers stagiaires dès la rentrée prochaine.</p></article>"
    )
    text = extract(page("", body), "https://example.test/a").text
    assert text.split("\n") == [
        "Le ministère de l'Industrie et la CGEM ont signé une convention pour la formation des "
        "techniciens dans les zones industrielles de Tanger et de Kénitra, selon un communiqué.",
        "Cette convention prévoit aussi la création d'un centre de formation dédié aux métiers de "
        "l'automobile, qui accueillera ses premiers stagiaires dès la rentrée prochaine.",
    ]


def test_extracted_is_frozen():
    ex = extract(page("", ARTICLE_FR), "https://example.test/a")
    assert isinstance(ex, Extracted)
    with pytest.raises(FrozenInstanceError):
        ex.text = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- robustness

BAD_INPUTS = [
    "",
    "   \n\t ",
    "<",
    "<html>",
    "<html><body></body></html>",
    "<p>un paragraphe seul</p>",
    "just some text without any markup at all",
    "\x00\x01\x02 binary \x7f\ufffd junk \x00",
    '<?xml version="1.0" encoding="utf-8"?><html><body><p>xml declaration</p></body></html>',
    "<html><head><title>t</title><script>var a = '</body></html>'; </script></head>",
    "<html>" + "<div>" * 5000 + "profond" + "</div>" * 5000 + "</html>",
    "<html><body><table><tr><td><p>table <b>non fermée <i>ni</table></body>",
    '<script type="application/ld+json">{"@graph": [[[[[[[[[[[[{"@type":"Article"}]]]]]]]]]]]]}</script>',
    "<meta property='og:title' content=''><link rel=canonical href='http://[broken'>",
]


@pytest.mark.parametrize("html", BAD_INPUTS)
def test_bad_input_does_not_raise(html):
    ex = extract(html, "https://example.test/a")
    assert isinstance(ex, Extracted)
    assert isinstance(ex.text, str)


def test_the_headline_marked_itemprop_leads_to_the_standfirst():
    """Outside any <article>, the element marked itemprop=headline is the page's main
    heading (not a teaser's h1 above it, nor a <meta itemprop=headline>): its standfirst is
    the lead."""
    body = "<p>" + "La nouvelle usine de Kénitra fabriquera des faisceaux de câbles. " * 8 + "</p>"
    html = (
        "<html lang='fr'><head><title>Câblage</title>"
        "<meta itemprop='headline' content='Méta'></head><body>"
        "<div class='teaser'><h1>Autre sujet</h1><p class='intro'>Le chapô d'un autre sujet, "
        "ailleurs sur la page.</p></div>"
        "<div class='post'><h2 itemprop='headline'>Une usine de câblage à Kénitra</h2>"
        "<p class='chapo'>Le groupe investit 300 millions de dirhams dans la région.</p>"
        f"{body}</div></body></html>"
    )
    ex = extract(html, "https://example.test/kenitra")
    assert ex.lead == "Le groupe investit 300 millions de dirhams dans la région."


CONTROLS = [chr(c) for c in [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]]


@pytest.mark.parametrize("char", [*CONTROLS, "\ufffe", "\uffff", "\ud800"])
def test_a_control_character_in_the_page_is_dropped_and_the_text_kept(char):
    paragraph = (
        "La convention signée à Tanger porte sur une usine de composants automobiles "
        "et la création de mille deux cents emplois dans la région du Nord. "
    )
    html = (
        f"<html lang='fr'><head><title>Une us{char}ine à Tanger</title></head><body><article>"
        f"<h1>Une usine à Tanger</h1><p>{paragraph * 3}</p><p>Le si{char}te {paragraph}</p>"
        "</article></body></html>"
    )
    ex = extract(html, "https://example.test/controle")
    assert "Le site" in ex.text and "usine de composants" in ex.text
    assert ex.title == "Une usine à Tanger"
    assert char not in ex.text + ex.title


def test_bad_types_and_urls_do_not_raise():
    for html, url in [(None, "https://example.test/"), (b"<p>bytes</p>", ""), ("<p>x</p>", None)]:
        ex = extract(html, url)  # type: ignore[arg-type]
        assert isinstance(ex, Extracted)


def test_empty_input_keeps_feed_values():
    feed_date = utc(2025, 1, 1, 0, 0)
    ex = extract(
        "", "https://example.test/a", feed_title="Titre", feed_date=feed_date, language_hint="fr"
    )
    assert ex == Extracted(
        title="Titre",
        author=None,
        published_at=feed_date,
        published_local=None,
        language="fr",
        canonical_url=None,
        lead=None,
        text="",
    )


def test_huge_page_is_bounded():
    paragraph = (
        "<p>"
        + "Le port de Tanger Med a traité un volume record de conteneurs cette année. " * 5
        + "</p>"
    )
    huge = "<html><body><article><h1>Titre</h1>" + paragraph * 12000 + "</article></body></html>"
    assert len(huge) > 4_000_000
    started = time.perf_counter()
    ex = extract(huge, "https://example.test/huge")
    assert time.perf_counter() - started < 30
    assert isinstance(ex.text, str)


@given(st.binary(max_size=3000))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_random_bytes_never_raise(body):
    html = decode_html(body, None)
    assert isinstance(html, str)
    assert isinstance(extract(html, "https://example.test/x").text, str)


_tags = st.sampled_from(
    [
        "<html>",
        "<body>",
        "<p>",
        "</p>",
        "<div class='td-post-content'>",
        "</div>",
        "<h1>",
        "</h1>",
        "<script type='application/ld+json'>",
        "</script>",
        "<meta property='og:title' content='x'>",
        "<time datetime='2025-13-45'>",
        "<!--",
        "-->",
        "<![CDATA[",
        "&amp;",
        "&#0;",
        "\x00",
        "نونبر",
        "ً",
    ]
)


@given(st.lists(st.one_of(_tags, st.text(max_size=40)), max_size=60).map("".join))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_random_markup_never_raises(html):
    ex = extract(html, "https://example.test/x")
    assert isinstance(ex.text, str)
    assert ex.published_at is None or ex.published_at.tzinfo is not None


def test_an_article_inside_a_page_wide_form_is_extracted_without_its_fields() -> None:
    """ASP.NET pages sit in one <form>; the parser makes every element a plain HtmlElement
    (no FormElement or InputElement), and the fields' values stay out of the text."""
    paragraphs = [
        f"<p>Paragraphe {i} : la convention signée à Kénitra porte sur une usine de câblage "
        f"automobile, un investissement de {100 + i} millions de dirhams et des emplois.</p>"
        for i in range(6)
    ]
    html = (
        '<html lang="fr"><head><title>Une usine à Kénitra</title></head><body>'
        '<form id="aspnetForm" method="post" action="/page.aspx">'
        '<input type="hidden" name="__VIEWSTATE" value="dDwtMTA4MzE0MjEzMzs7Pg==">'
        "<label for='q'>Chercher</label><input id='q' name='q' value='valeur-du-champ'>"
        "<article><h1>Une usine à Kénitra</h1>" + "".join(paragraphs) + "</article>"
        "<select name='rubrique'><option>Option-de-liste</option></select>"
        "<textarea name='avis'>Texte-du-formulaire</textarea></form></body></html>"
    )
    page = extract(html, "https://example.ma/page.aspx")
    assert page.title == "Une usine à Kénitra"
    assert all(f"Paragraphe {i} :" in page.text for i in range(6)), page.text
    for field in ("dDwtMTA4", "valeur-du-champ", "Option-de-liste", "Texte-du-formulaire"):
        assert field not in page.text


FORUM_AND_SCROLL_PAGE = """<html><head><title>t</title>
<script type="application/ld+json">{"@type": "DiscussionForumPosting", "headline": "h"}</script>
<script>var tracking = 1;</script><style>p {color: red}</style></head><body>
<nav><ul><li><a href="/">Accueil</a></li></ul></nav>
<div class="infinite-scroll"><aside><h1>Le vrai titre</h1></aside>
<p>Le premier paragraphe de l'article, assez long pour être gardé par l'extracteur.</p></div>
<div class="comments"><p>Un commentaire de lecteur sur la convention signée.</p></div>
<p>Texte<button>Partager</button> suivi de sa fin, qui reste en place.</p>
<table><tr><td>Cellule</td></tr></table><footer>Pied de page</footer></body></html>"""


def test_dropping_what_trafilatura_cleans_changes_none_of_its_text():
    """The main text is trafilatura's on the whole tree: dropping up front what its cleaning
    deletes anyway must not change a character of what it extracts, fast or not."""
    from crawler.core.extract.main_text import _drop_cleaned, _trafilatura_text

    pages = [load_page(p.name) for p in sorted(PAGES.glob("*.html"))] + [FORUM_AND_SCROLL_PAGE]
    for page in pages:
        for fast in (True, False):
            whole = lxml_html.document_fromstring(page)
            dropped = lxml_html.document_fromstring(page)
            _drop_cleaned(dropped)
            assert _trafilatura_text(dropped, BASE, fast) == _trafilatura_text(whole, BASE, fast)


def test_dropping_keeps_what_trafilatura_reads_before_its_cleaning():
    from crawler.core.extract.main_text import _drop_cleaned

    tree = lxml_html.document_fromstring(FORUM_AND_SCROLL_PAGE)
    _drop_cleaned(tree)
    assert [s.get("type") for s in tree.iter("script")] == ["application/ld+json"]
    assert tree.find(".//aside/h1") is not None  # trafilatura's raw-tree prune asks for an h1
    assert not tree.xpath("//nav | //style | //button | //table | //footer")
    assert "Texte suivi de sa fin" in tree.text_content()  # the tails stay
