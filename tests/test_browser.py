"""`tidings serve` in a real browser: headless Chromium (the system's, driven by Playwright) reads the demo site
over HTTP the way a reader does: clicking, typing, tabbing, on a phone-sized screen and with JavaScript off."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect, sync_playwright

from tidings.config import load_config
from tidings.demo import run_demo
from tidings.model import Digest
from tidings.publish.pages import headline
from tidings.store import Store
from tidings.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium package; CI installs it with apt (.ci/run)
PHONE = {"width": 390, "height": 844}
WORDS = "Covenant Bittensor"  # searched for on the search page; the demo corpus has items with both
MAX_TABS = 400


@dataclass
class Served:
    base: str
    browser: Browser
    store: Store

    def digest(self) -> Digest:
        return self.store.digests()[0]

    def url(self, path: str) -> re.Pattern[str]:
        """The whole address of a page, `path` being a regular expression for what follows the host."""
        return re.compile("^" + re.escape(self.base) + path + "$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """The demo store served by uvicorn on a free port, and one headless Chromium to read it with."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: the browser tests need Debian's chromium (apt-get install chromium)")
    import uvicorn

    folder = tmp_path_factory.mktemp("browsed")
    run_demo(folder)
    config = load_config(folder / "tidings.toml")
    app = create_app(config)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:  # waiting for the server to listen, not a test of its speed
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                yield Served(f"http://127.0.0.1:{port}", browser, app.state.site.store)
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.site.store.close()


@contextmanager
def _page(served: Served, **options) -> Iterator[Page]:
    """A page in a fresh browser context (its own cache and history), closed afterwards."""
    context = served.browser.new_context(**options)
    try:
        yield context.new_page()
    finally:
        context.close()


# --- a reader's path through the site ------------------------------------------------------------------------

def _read_the_site(page: Page, served: Served, arrived: Callable[[str], None] = lambda name: None) -> None:
    """Home → a digest → a story → its first revision → search → a story found → its digest → the tracker, by
    clicking and typing as a reader would; each page's address, title and heading checked on arrival, then
    `arrived(name)` called on it."""
    store, digest = served.store, served.digest()
    page.goto(served.base + "/")
    expect(page).to_have_url(served.url("/"))
    expect(page).to_have_title("tidings")
    expect(page.locator("h1")).to_have_text("Digests")
    arrived("home")

    page.locator("section.digest h2").get_by_role("link", name=digest.title, exact=True).click()
    expect(page).to_have_url(served.url(f"/{digest.slug}/index\\.html"))
    expect(page).to_have_title(digest.title)
    expect(page.locator("h1")).to_have_text(digest.title)
    arrived("digest")

    first = page.locator("ol.stories > li > a:not(.flag)").first
    listed = first.inner_text()
    first.click()
    expect(page).to_have_url(served.url(f"/{digest.slug}/stories/\\d+\\.html"))
    story_id = int(re.search(r"/stories/(\d+)\.html$", page.url).group(1))
    story = store.story(story_id)
    assert story is not None and story.digest == digest.slug
    revisions = store.revisions(story_id)
    current = headline(revisions[-1], story_id)
    assert listed == current
    expect(page).to_have_title(current)
    expect(page.locator("h1")).to_have_text(current)
    arrived("story")

    assert len(revisions) > 1, "the demo's top story has been revised"
    oldest = revisions[0]
    page.locator("section.history").get_by_role("link", name=f"Revision {oldest.number}", exact=True).click()
    expect(page).to_have_url(served.url(f"/{digest.slug}/stories/{story_id}/r{oldest.number}\\.html"))
    expect(page).to_have_title(f"{headline(oldest, story_id)} (revision {oldest.number})")
    expect(page.locator("h1")).to_have_text(headline(oldest, story_id))
    expect(page.locator("p.notice")).to_contain_text(f"This is revision {oldest.number}")
    arrived("revision")

    page.locator("header.top nav").get_by_role("link", name="Search").click()
    expect(page).to_have_url(served.url("/search"))
    expect(page.locator("h1")).to_have_text("Search")
    box = page.get_by_role("searchbox", name="Words to find")
    box.press_sequentially(WORDS)
    box.press("Enter")
    expect(page).to_have_url(served.url("/search\\?q=.*"))
    assert parse_qs(urlsplit(page.url).query)["q"] == [WORDS]
    expect(page).to_have_title(f"{WORDS} — Search")
    expect(box).to_have_value(WORDS)
    _assert_hits_are_marked(page)
    arrived("search")

    found = page.locator(f'ol.hits a[href^="/{digest.slug}/stories/"]').first
    found_title = found.inner_text()
    found.click()
    expect(page).to_have_url(served.url(f"/{digest.slug}/stories/\\d+\\.html"))
    expect(page.locator("h1")).to_have_text(found_title)
    arrived("story found by search")

    page.locator("header.top").get_by_role("link", name=digest.title, exact=True).click()
    expect(page).to_have_url(served.url(f"/{digest.slug}/index\\.html"))
    page.get_by_role("link", name="Model tracker", exact=True).click()
    expect(page).to_have_url(served.url(f"/{digest.slug}/tracker"))
    expect(page).to_have_title(f"Open and closed models: {digest.title}")
    expect(page.locator("h1")).to_have_text("Open and closed models")
    expect(page.locator(".tracker-chart svg")).to_be_visible()
    arrived("tracker")


def _assert_hits_are_marked(page: Page) -> None:
    hits = page.locator("ol.hits > li")
    expect(hits.first).to_be_visible()
    marks = page.locator("ol.hits mark")
    expect(marks.first).to_be_visible()
    marked = {m.lower() for m in marks.all_inner_texts()}
    assert marked & {w.lower() for w in WORDS.split()}, marked
    for k in range(hits.count()):
        expect(hits.nth(k).locator("mark").first).to_be_attached()  # every hit shows why it matched


def _story_path(served: Served) -> str:
    digest = served.digest()
    story = served.store.stories(digest.slug)[0]
    return f"/{digest.slug}/stories/{story.id}.html"


OTHER_PAGES = ["/{digest}/misinformation.html", "/sources.html"]  # the rest of the site, visited directly


def test_a_reader_clicks_from_the_home_page_to_a_revision_search_and_the_tracker(served):
    visited = []
    with _page(served) as page:
        _read_the_site(page, served, visited.append)
    assert visited == ["home", "digest", "story", "revision", "search", "story found by search", "tracker"]


# --- console errors and failed requests ----------------------------------------------------------------------

class _Watch:
    """Everything a page reports going wrong: console errors, uncaught exceptions, failed and refused requests."""

    def __init__(self, page: Page, base: str) -> None:
        self.base = base
        self.problems: list[str] = []
        self.favicon: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.url} {request.failure}"))
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        # The browser asks for /favicon.ico by itself (not a request of the page's); its 404 is reported apart.
        (self.favicon if where == self.base + "/favicon.ico" else self.problems).append(f"console: {message.text}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status}: {response.url}")


def test_no_page_on_the_path_logs_an_error_or_fails_a_request(served):
    with _page(served) as page:
        watch = _Watch(page, served.base)
        found: dict[str, list[str]] = {}

        def arrived(name: str) -> None:
            page.wait_for_load_state("networkidle")
            found[name] = list(watch.problems)
            watch.problems.clear()

        _read_the_site(page, served, arrived)
        for path in OTHER_PAGES:
            page.goto(served.base + path.format(digest=served.digest().slug))
            arrived(path)
    assert len(found) == 7 + len(OTHER_PAGES)
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_the_site_has_an_icon_the_browser_can_load(served):
    with _page(served) as page:
        page.goto(served.base + "/")
        icon = page.locator('link[rel~="icon"]')
        href = icon.first.evaluate("link => link.href") if icon.count() else served.base + "/favicon.ico"
        assert href.startswith("data:") or page.request.get(href).ok, href


# --- a phone-sized screen ------------------------------------------------------------------------------------

_OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [...document.body.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > width + 0.5);
  const outermost = wide.filter(e => !wide.includes(e.parentElement));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width,
          wide: outermost.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                                                + ' (' + Math.round(e.getBoundingClientRect().right) + 'px)')};
}"""


def test_no_page_scrolls_sideways_on_a_390px_screen(served):
    """Wide tables may scroll inside their own `overflow-x: auto` box; the page itself must not."""
    too_wide = {}
    with _page(served, viewport=PHONE) as page:
        def arrived(name: str) -> None:
            measured = page.evaluate(_OVERFLOW)
            assert measured["innerWidth"] == PHONE["width"]
            if measured["scrollWidth"] > measured["innerWidth"]:
                too_wide[name] = measured

        _read_the_site(page, served, arrived)
        for path in OTHER_PAGES:
            page.goto(served.base + path.format(digest=served.digest().slug))
            arrived(path)
    assert too_wide == {}


# --- the keyboard --------------------------------------------------------------------------------------------

_NUMBER_LINKS = """() => {
  const links = [...document.querySelectorAll('a[href]')].filter(a => a.checkVisibility({visibilityProperty: true}));
  links.forEach((a, k) => { a.dataset.tabOrder = String(k); });
  return links.map(a => a.getAttribute('href'));
}"""
_FOCUSED = "() => { const e = document.activeElement; return e && e.dataset ? e.dataset.tabOrder ?? null : null; }"


@pytest.mark.parametrize("which", ["home", "story"])
def test_the_tab_key_reaches_every_visible_link(served, which):
    path = "/" if which == "home" else _story_path(served)
    with _page(served) as page:
        page.goto(served.base + path)
        hrefs = page.evaluate(_NUMBER_LINKS)
        assert len(hrefs) > 5
        assert len(hrefs) < MAX_TABS
        reached: set[int] = set()
        for _ in range(MAX_TABS):
            page.keyboard.press("Tab")
            focused = page.evaluate(_FOCUSED)
            if focused is not None:
                reached.add(int(focused))
            if len(reached) == len(hrefs):
                break
    assert [hrefs[k] for k in range(len(hrefs)) if k not in reached] == []


# --- without JavaScript --------------------------------------------------------------------------------------

def test_home_story_and_search_work_with_javascript_off(served):
    digests = served.store.digests()
    story_path = _story_path(served)
    story_id = int(re.search(r"(\d+)\.html$", story_path).group(1))
    latest = served.store.revisions(story_id)[-1]
    with _page(served, java_script_enabled=False) as page:
        page.goto(served.base + "/")
        expect(page.locator("h1")).to_have_text("Digests")
        expect(page.locator("section.digest h2 > a")).to_have_text([d.title for d in digests])
        expect(page.locator("ol.stories.top > li").first).to_be_visible()

        page.goto(served.base + story_path)
        expect(page.locator("h1")).to_have_text(headline(latest, story_id))
        expect(page.locator("section.summary p")).not_to_be_empty()
        expect(page.locator("section.sources li")).to_have_count(len(latest.sources))
        expect(page.locator("section.history li > a")).to_have_count(len(served.store.revisions(story_id)))

        page.goto(served.base + "/search")  # the form is plain HTML: it submits without a script
        box = page.get_by_role("searchbox", name="Words to find")
        box.press_sequentially(WORDS)
        box.press("Enter")
        expect(page).to_have_url(served.url("/search\\?q=.*"))
        _assert_hits_are_marked(page)


# --- citations -----------------------------------------------------------------------------------------------

_CITATIONS = """() => [...document.querySelectorAll('a.cite')].map(a => {
  const id = a.getAttribute('href').replace(/^#/, '');
  const target = document.getElementById(id);
  return {href: a.getAttribute('href'), text: a.textContent,
          inSources: !!(target && target.matches('section.sources ol > li')),
          number: target && target.matches('li') ? target.value : null};
})"""


def test_a_citation_leads_to_its_entry_in_the_sources_list_and_back(served):
    with _page(served) as page:
        page.goto(served.base + _story_path(served))
        url = page.url
        citations = page.evaluate(_CITATIONS)
        assert citations
        for c in citations:  # every [n] points at the n-th entry of the story's Sources list
            assert c["inSources"], c
            assert c["href"] == f"#source-{c['number']}" and c["text"] == f"[{c['number']}]", c

        cite = page.locator("section.summary a.cite").first
        href = cite.get_attribute("href")
        cite.click()
        expect(page).to_have_url(url + href)
        entry = page.locator(f"section.sources li{href}")
        expect(entry).to_be_in_viewport()
        assert page.evaluate("() => document.querySelector(':target').id") == href[1:]

        page.go_back()
        expect(page).to_have_url(url)
        expect(cite).to_be_in_viewport()


_BACK_LINKS = """() => [...document.querySelectorAll('section.sources ol > li')].filter(li => {
  const targets = [...li.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href').slice(1));
  const back = targets.map(id => document.getElementById(id));
  const cite = 'a.cite[href="#' + li.id + '"]';
  // A source kept from an earlier revision may be cited nowhere on the page: nothing to link back to.
  return document.querySelector(cite) !== null && !back.some(t => t && (t.matches(cite) || t.querySelector(cite)));
}).map(li => li.id)"""


def test_each_source_entry_links_back_to_where_it_is_cited(served):
    with _page(served) as page:
        page.goto(served.base + _story_path(served))
        expect(page.locator("section.sources li").first).to_be_visible()
        assert page.evaluate(_BACK_LINKS) == []
