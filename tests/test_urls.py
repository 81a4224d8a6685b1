"""crawler.core.urls: canonicalization rules, AMP detection, host keys."""

from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.core.urls import canonicalize, host_of, is_amp

CANON = "https://lenouvelliste.ma/economie/made-in-morocco-accords"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # lowercase scheme and host, path case kept
        ("HTTPS://LeNouvelliste.MA/Economie/Article", "https://lenouvelliste.ma/Economie/Article"),
        # default ports dropped, other ports kept
        ("http://example.ma:80/a", "http://example.ma/a"),
        ("https://example.ma:443/a", "https://example.ma/a"),
        ("https://example.ma:8443/a", "https://example.ma:8443/a"),
        ("http://example.ma:443/a", "http://example.ma:443/a"),
        # fragment dropped
        ("https://example.ma/a#comments", "https://example.ma/a"),
        ("https://example.ma/a?id=3#respond", "https://example.ma/a?id=3"),
        # trailing slash removed from non-root paths, root kept
        (CANON + "/", CANON),
        ("https://example.ma/a//", "https://example.ma/a"),
        ("https://example.ma", "https://example.ma/"),
        ("https://example.ma/", "https://example.ma/"),
        ("https://example.ma/?", "https://example.ma/"),
        # query parameters sorted, blank values kept
        ("https://example.ma/a?b=2&a=1", "https://example.ma/a?a=1&b=2"),
        ("https://example.ma/search?q=&page=2", "https://example.ma/search?page=2&q="),
        # percent-encoding normalised: unreserved decoded, hex uppercased, non-ASCII encoded
        ("https://example.ma/%7Euser/%e2%82%ac", "https://example.ma/~user/%E2%82%AC"),
        ("https://example.ma/a?x=%41", "https://example.ma/a?x=A"),
        ("https://example.ma/a b", "https://example.ma/a%20b"),
        (
            "https://www.hespress.com/توقيع-اتفاقيات-1456789.html",
            "https://www.hespress.com/%D8%AA%D9%88%D9%82%D9%8A%D8%B9-"
            "%D8%A7%D8%AA%D9%81%D8%A7%D9%82%D9%8A%D8%A7%D8%AA-1456789.html",
        ),
        ("https://example.ma/a%2Fb", "https://example.ma/a%2Fb"),  # encoded slash is data
        # dot segments resolved
        ("https://example.ma/a/./b/../c", "https://example.ma/a/c"),
        # IDN host to punycode
        ("https://exämple.ma/a", "https://xn--exmple-cua.ma/a"),
        # www. is kept (host_of drops it)
        ("https://www.example.ma/a", "https://www.example.ma/a"),
    ],
)
def test_canonicalize_basic_rules(url, expected):
    assert canonicalize(url) == expected


@pytest.mark.parametrize(
    "param",
    [
        "utm_source=rss",
        "utm_medium=feed",
        "utm_campaign=x",
        "utm_content=y",
        "utm_term=z",
        "UTM_Source=rss",
        "fbclid=IwAR0abc",
        "gclid=Cj0KCQ",
        "dclid=abc",
        "msclkid=abc",
        "mc_cid=abc",
        "mc_eid=abc",
        "xtor=RSS-1",
        "at_medium=social",
        "at_campaign=x",
        "_ga=2.1234",
        "igshid=abc",
        "ocid=msn",
        "cmpid=abc",
        "ns_source=twitter",
        "ns_mchannel=social",
        "gbraid=abc",
        "wbraid=abc",
        "yclid=1",
        "twclid=1",
        "ttclid=1",
        "_gl=1*abc",
        "_hsenc=p2",
        "_hsmi=1",
        "mkt_tok=abc",
        "pk_campaign=x",
        "mtm_source=x",
        "fb_action_ids=1",
        "fb_source=feed",
    ],
)
def test_tracking_parameters_removed(param):
    assert canonicalize(f"{CANON}/?{param}") == CANON
    assert canonicalize(f"{CANON}?id=42&{param}") == CANON + "?id=42"


def test_meaningful_parameters_kept():
    url = "https://example.ma/article.php?id=123&page=2&lang=fr&ref=home"
    assert canonicalize(url) == "https://example.ma/article.php?id=123&lang=fr&page=2&ref=home"


@pytest.mark.parametrize(
    "url",
    [
        CANON + "/amp",
        CANON + "/amp/",
        CANON + "/AMP/",
        CANON + "/?amp",
        CANON + "/?amp=1",
        CANON + "?amp=true",
        CANON + "/?noamp=mobile",
        CANON + "/amp/?utm_source=rss&utm_medium=rss",
        "https://amp.lenouvelliste.ma/economie/made-in-morocco-accords/",
        "https://amp.lenouvelliste.ma/economie/made-in-morocco-accords/amp/?amp=1#top",
    ],
)
def test_amp_forms_resolved(url):
    assert canonicalize(url) == CANON


def test_amp_like_things_that_are_not_amp():
    # 'amp' inside a slug, or as a whole registrable name, is not an AMP marker
    assert canonicalize("https://example.ma/ampoules-led/") == "https://example.ma/ampoules-led"
    assert canonicalize("https://amp.ma/x") == "https://amp.ma/x"
    assert canonicalize("https://example.ma/amp/") == "https://example.ma/"
    # Arc XP: only outputType=amp is an AMP marker, a feed's outputType=xml is kept
    assert canonicalize("https://fr.le360.ma/economie/x/?outputType=amp") == (
        "https://fr.le360.ma/economie/x"
    )
    assert canonicalize("https://fr.le360.ma/arc/outboundfeeds/rss/?outputType=xml") == (
        "https://fr.le360.ma/arc/outboundfeeds/rss?outputType=xml"
    )


@pytest.mark.parametrize(
    "url",
    [
        "HTTPS://WWW.Example.MA:443/a/b/?utm_source=rss&b=2&a=1#x",
        "https://amp.example.ma/x/amp/?amp=1",
        "https://example.ma/%7euser/%e2%82%ac?q=a+b",
        "https://www.hespress.com/توقيع-اتفاقيات-1456789.html",
        "https://example.ma/a?b=%zz",
        "http://[::1]:8080/x/",
        "not a url",
        "",
    ],
)
def test_idempotent(url):
    once = canonicalize(url)
    assert canonicalize(once) == once


def test_non_http_input_returned_stripped():
    assert canonicalize("  mailto:redaction@example.ma ") == "mailto:redaction@example.ma"
    assert canonicalize("/relative/path/") == "/relative/path/"
    assert canonicalize("javascript:void(0)") == "javascript:void(0)"
    assert canonicalize("http://[broken") == "http://[broken"


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_property_arbitrary_text_never_raises_and_is_idempotent(text):
    once = canonicalize(text)
    assert isinstance(once, str)
    assert canonicalize(once) == once


_url_parts = st.builds(
    lambda scheme, host, port, path, query, frag: (
        f"{scheme}://{host}{port}/{path}{'?' + query if query else ''}{'#' + frag if frag else ''}"
    ),
    st.sampled_from(["http", "https", "HTTP", "HttpS"]),
    st.sampled_from(
        ["example.ma", "WWW.Example.MA", "amp.le360.ma", "xn--exmple-cua.ma", "exämple.ma"]
    ),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.text(alphabet=st.sampled_from("abAB/%-_.~é ع2amp?=&"), max_size=40),
    st.text(alphabet=st.sampled_from("abz=&%+_utm_sourceampfbclid1ع"), max_size=40),
    st.text(max_size=5),
)


@given(_url_parts)
@settings(max_examples=300, deadline=None)
def test_property_urls_idempotent(url):
    once = canonicalize(url)
    assert canonicalize(once) == once
    assert "#" not in once
    query = once.split("?", 1)[1] if "?" in once else ""
    names = [unquote(part.split("=", 1)[0]).lower() for part in query.split("&") if part]
    assert not any(n.startswith("utm_") or n in ("fbclid", "amp", "noamp") for n in names)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (CANON + "/amp/", True),
        (CANON + "/amp", True),
        (CANON + "/?amp", True),
        (CANON + "/?amp=1", True),
        (CANON + "?amp=true", True),
        ("https://amp.lenouvelliste.ma/x", True),
        ("https://fr.le360.ma/x/?outputType=amp", True),
        (CANON + "/", False),
        (CANON + "/?noamp=mobile", False),  # the non-AMP version
        (CANON + "/?amp=0", False),
        ("https://example.ma/ampoules/", False),
        ("https://amp.ma/x", False),
        ("", False),
    ],
)
def test_is_amp(url, expected):
    assert is_amp(url) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.Hespress.com/x", "hespress.com"),
        ("https://fr.hespress.com:443/economie/feed", "fr.hespress.com"),
        ("http://WWW.LEMATIN.MA./rssFeed/4", "lematin.ma"),
        ("fr.le360.ma/arc/outboundfeeds/", "fr.le360.ma"),
        ("https://user:pw@www.example.ma:8080/", "example.ma"),
        ("not a url at all", "not a url at all"),
        ("", ""),
        ("http://[broken", ""),
    ],
)
def test_host_of(url, expected):
    assert host_of(url) == expected
