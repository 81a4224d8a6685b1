"""The web view in a real browser (issue 17): headless Chromium, driven by Playwright, on
`veille web` serving a database filled by a real crawl of the loopback world. Screenshots of
the pages go to each test's temporary directory, for a failure to be looked at."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, veille
from tests.web_world import crawled

CHROMIUM = Path("/usr/bin/chromium")

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"Chromium ({CHROMIUM}) is required in CI: .ci/run installs it")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`veille web` on a crawled SQLite database: its address and the database URL."""
    with crawled("sqlite", tmp_path_factory.mktemp("browser"), False) as (url, sources):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        command = ["web", "--db", url, "--sources", str(sources), "--port", str(port)]
        server = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", *command], cwd=ROOT, stderr=subprocess.PIPE
        )
        try:
            _wait_for(port)
            yield f"http://127.0.0.1:{port}", url
        finally:
            server.terminate()
            server.wait(10)


def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("veille web did not start")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    tab.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    context.close()


def shot(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def listed(page: Page) -> list[str]:
    """The agreements the page lists: their ids."""
    return [
        str(i)
        for i in page.locator("li.row.agreement").evaluate_all("els => els.map(e => e.dataset.id)")
    ]


def test_pages_load_and_a_facet_narrows_the_list(
    page: Page, site: tuple[str, str], tmp_path: Path
) -> None:
    base, _ = site
    page.goto(base + "/")
    shot(page, tmp_path, "agreements")
    everything = listed(page)
    assert everything and page.locator(".timeline svg rect").count() > 0
    page.locator('section[data-facet="sector"] a', has_text="automobile").first.click()
    page.wait_for_url("**?sector=automobile")
    shot(page, tmp_path, "automobile")
    narrowed = listed(page)
    assert narrowed and len(narrowed) < len(everything) and set(narrowed) <= set(everything)
    for row in page.locator("li.row.agreement").all():
        assert "automobile" in row.locator(".tag").all_inner_texts()
    page.locator('section[data-facet="first seen"] a', has_text="last 30 days").click()
    page.wait_for_url("**since=30d**")
    assert set(listed(page)) <= set(narrowed)
    for path, name in (("/organisations", "organisations"), ("/sources", "sources")):
        page.goto(base + path)
        assert page.locator("tr.row").count() > 0
        shot(page, tmp_path, name)
    assert "failing" in page.locator("tr.row", has_text="dead").inner_text()
    page.goto(base + "/organisations")
    page.locator("tr.row a").first.click()
    assert page.locator("li.row.agreement").count() > 0
    shot(page, tmp_path, "organisation")


def test_search_narrows_the_list(page: Page, site: tuple[str, str], tmp_path: Path) -> None:
    base, _ = site
    page.goto(base + "/agreements")
    everything = listed(page)
    page.keyboard.press("/")  # the keyboard shortcut focuses the search box
    page.keyboard.type("Kénitra")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=K*")
    shot(page, tmp_path, "search")
    found = listed(page)
    assert found and len(found) < len(everything)


def test_an_agreement_shows_its_evidence_highlighted(
    page: Page, site: tuple[str, str], tmp_path: Path
) -> None:
    base, _ = site
    page.goto(base + "/agreements?lang=fr")
    page.locator("li.row.agreement a.title").first.click()
    page.wait_for_url("**/agreements/*")
    mark = page.locator("article.text mark#evidence")
    assert mark.count() == 1 and mark.is_visible()
    assert len(mark.inner_text()) > 40
    evidence = page.locator("dl.facts")
    assert evidence.is_visible()
    assert page.locator("table.articles tbody tr").count() >= 1
    assert page.locator("ul.parties a").count() >= 1
    shot(page, tmp_path, "agreement")


def test_an_arabic_article_reads_right_to_left(
    page: Page, site: tuple[str, str], tmp_path: Path
) -> None:
    base, _ = site
    page.goto(base + "/agreements")
    page.locator('section[data-facet="language"] a', has_text="ar").first.click()
    page.wait_for_url("**lang=ar")
    page.locator("li.row.agreement a.title").first.click()
    page.locator("table.articles td a").first.click()
    page.wait_for_url("**/articles/*")
    shot(page, tmp_path, "arabic-article")
    text = page.locator("article.text")
    assert text.get_attribute("dir") == "rtl" and text.get_attribute("lang") == "ar"
    assert text.evaluate("e => getComputedStyle(e).direction") == "rtl"
    verdict = page.locator("section.verdict")  # the page's own words stay left to right
    assert verdict.evaluate("e => getComputedStyle(e).direction") == "ltr"


def test_a_verdict_marked_wrong_survives_reclassify(
    page: Page, site: tuple[str, str], tmp_path: Path
) -> None:
    base, db = site
    page.goto(base + "/agreements?lang=en")
    page.locator("li.row.agreement a.title").first.click()
    page.locator("table.articles a").first.click()
    page.wait_for_url("**/articles/*")
    article = page.url
    assert "an industrial agreement" in page.locator("section.verdict h2").inner_text()
    page.locator('input[name="verdict"][value="wrong"]').check()
    page.locator('input[name="note"]').fill("an announcement, not a signature")
    page.locator('input[name="by"]').fill("amina")
    page.locator("form.feedback button").click()
    page.wait_for_url(article + "#feedback")
    shot(page, tmp_path, "marked-wrong")

    def verdict() -> Any:
        return (
            page.locator("section.verdict h2").inner_text(),
            page.locator("#verdict-by").inner_text(),
            page.locator("ul.marks").inner_text(),
        )

    said, by, marks = verdict()
    assert said == "Verdict: not an industrial agreement" and by == "analyst"
    assert "wrong by amina" in marks and "an announcement, not a signature" in marks
    result = veille("reclassify", "--all", "--db", db)
    assert result.returncode == 0, result.stderr
    page.reload()
    assert verdict() == (said, by, marks)
