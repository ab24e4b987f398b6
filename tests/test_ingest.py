import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import ARTICLE_A, ARTICLE_B, rss
from tidings.config import Settings
from tidings.ingest import read_source
from tidings.ingest.feeds import FeedError, parse_feed, read_opml, write_opml
from tidings.model import Source

BASE = "https://feeds.example/feed"

RSS091 = """<?xml version="1.0"?><rss version="0.91"><channel><title>Old Radio</title>
<link>https://radio.example/</link><description>d</description><language>en</language>
<item><title>Bridge reopens</title><link>https://radio.example/bridge</link>
<description>The Kell bridge reopened on Monday after repairs.</description></item></channel></rss>"""

RSS10 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://papers.example/"><title>Paper Listing</title><link>https://papers.example/</link>
<description>d</description><items><rdf:Seq><rdf:li rdf:resource="https://papers.example/2603.1"/></rdf:Seq></items>
</channel>
<item rdf:about="https://papers.example/2603.1"><title>A study of tides</title>
<link>https://papers.example/2603.1</link><description>We measure tides in three bays.</description>
<dc:date>2026-03-12T08:00:00Z</dc:date></item></rdf:RDF>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Ledger</title><id>urn:uuid:1</id><updated>2026-03-13T10:00:00Z</updated>
<entry><title>Grid review opens</title><id>tag:ledger.example,2026:1</id>
<link href="https://ledger.example/grid-review"/><updated>2026-03-13T10:00:00Z</updated>
<content type="html">&lt;p&gt;The review opened today.&lt;/p&gt;&lt;p&gt;It will report in May.&lt;/p&gt;</content>
</entry></feed>"""

JSONFEED = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Meridian",
                       "items": [{"id": "m-1", "url": "https://meridian.example/ice", "title": "Ice survey",
                                  "content_text": "The survey ended.\n\nResults follow in June.",
                                  "date_published": "2026-03-14T07:30:00Z", "authors": [{"name": "R. Vale"}]}]})


@pytest.mark.parametrize("body, title, text_start", [
    (RSS091, "Bridge reopens", "The Kell bridge"),
    (RSS10, "A study of tides", "We measure tides"),
    (rss([{"title": "Barrier approved", "link": "https://wire.example/a", "text": ARTICLE_A}]), "Barrier approved",
     "The harbour authority"),
    (ATOM, "Grid review opens", "The review opened today.\n\nIt will report in May."),
    (JSONFEED, "Ice survey", "The survey ended.\n\nResults follow in June."),
])
def test_every_feed_format_parses(body, title, text_start):
    entries, warning, _ = parse_feed(body.encode(), BASE, "Pub")
    assert warning is None
    assert entries[0].title == title
    assert entries[0].text.startswith(text_start)
    assert entries[0].url.startswith("https://")


def test_json_feed_dates_guids_and_authors():
    entry = parse_feed(JSONFEED.encode(), BASE)[0][0]
    assert entry.guid == "m-1" and entry.author == "R. Vale"
    assert entry.published.isoformat() == "2026-03-14T07:30:00+00:00"
    assert entry.publisher == "Meridian"


@pytest.mark.parametrize("body, message", [
    (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>cut &', "not a well-formed"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title></channel></rss>', "no entries"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "no entries"),
    (b'{"hello": 1}', "not a JSON Feed"),
    (b"{broken", "not valid JSON"),
])
def test_bad_feeds_raise_one_line_errors(body, message):
    with pytest.raises(FeedError, match=message) as err:
        parse_feed(body, BASE)
    assert "\n" not in str(err.value)


def test_feed_over_http_then_unchanged(http_dir, settings):
    root, base = http_dir
    (root / "wire.rss").write_text(rss([{"title": "Barrier approved", "link": "https://wire.example/a",
                                         "text": ARTICLE_A}]))
    source = Source(url=f"{base}/wire.rss", name="Wire", id=1)
    first = read_source(source, settings)
    assert first.status == "ok" and len(first.entries) == 1
    again = read_source(source, settings, (first.content_hash, None, None))
    assert again.unchanged


def test_truncated_entry_gets_full_text_from_its_page_over_http(http_dir, settings):
    root, base = http_dir
    (root / "story.html").write_text(
        "<html><head><title>Barrier approved</title>"
        f'<link rel="canonical" href="{base}/story.html"></head><body><nav>Home | World</nav>'
        f"<article><h1>Barrier approved</h1>{ARTICLE_A}</article><footer>(c) Wire</footer></body></html>")
    (root / "wire.rss").write_text(rss([{"title": "Barrier approved", "link": f"{base}/story.html",
                                         "summary": "The harbour authority approved a barrier. [&#8230;]"}]))
    result = read_source(Source(url=f"{base}/wire.rss", name="Wire", id=1), settings)
    entry = result.entries[0]
    assert "old sea wall failed twice" in entry.text
    assert "Home | World" not in entry.text
    assert not entry.truncated and entry.error is None


def test_truncated_entry_with_unreachable_page_keeps_teaser_and_says_why(http_dir, settings):
    root, base = http_dir
    (root / "wire.rss").write_text(rss([{"title": "Barrier approved", "link": f"{base}/gone.html",
                                         "summary": "The harbour authority approved a barrier…"}]))
    entry = read_source(Source(url=f"{base}/wire.rss", id=1), settings).entries[0]
    assert entry.truncated and "HTTP 404" in entry.error
    assert entry.text.startswith("The harbour authority")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("make_url, message", [
    (lambda root, base: f"http://127.0.0.1:{_closed_port()}/feed.xml", "cannot connect"),
    (lambda root, base: f"{base}/missing.xml", "HTTP 404"),
    (lambda root, base: str(root / "nothing.xml"), "no such file"),
    (lambda root, base: f"{base}/error.rss", "expected a feed, got an HTML page ('503 Service Unavailable')"),
    (lambda root, base: f"{base}/empty.xml", "empty response"),
    (lambda root, base: "ftp://example.org/feed", "unsupported URL scheme"),
])
def test_bad_sources_give_one_line_errors_naming_the_source(http_dir, make_url, message):
    root, base = http_dir
    (root / "error.rss").write_text("<html><head><title>503 Service Unavailable</title></head>"
                                    "<body><h1>Service Unavailable</h1></body></html>")
    (root / "empty.xml").write_text("")
    url = make_url(root, base)
    result = read_source(Source(url=url, id=1), Settings(fetch_timeout=3, allow_private_networks=True))
    assert result.status == "error"
    assert message in result.error
    assert (url in result.error) or (str(root) in result.error) or "ftp" in result.error
    assert "\n" not in result.error


def test_html_page_source_becomes_one_item(http_dir, settings):
    root, base = http_dir
    (root / "page.html").write_text(
        "<html><head><title>Comet | Sky Times</title><meta property='og:site_name' content='Sky Times'>"
        "<meta property='article:published_time' content='2026-03-14T18:00:00Z'>"
        "<link rel='canonical' href='https://skytimes.example/comet'></head>"
        f"<body><article><h1>Comet visible this weekend</h1>{ARTICLE_B}</article></body></html>")
    result = read_source(Source(url=f"{base}/page.html", id=1), settings)
    entry = result.entries[0]
    assert result.status == "ok"
    assert entry.publisher == "Sky Times"
    assert entry.published.isoformat() == "2026-03-14T18:00:00+00:00"
    # The canonical link is on another site than the page was read from, so it is not trusted.
    assert entry.url == f"{base}/page.html"
    assert "6,000 years ago" in entry.text


def test_opml_round_trip_keeps_sources():
    sources = [Source(url="https://a.example/feed.xml", name="A & B News", digests=("ai", "climate"),
                      credibility=0.75),
               Source(url="/data/local.rss", name="", digests=())]
    again = read_opml(write_opml(sources).encode())
    assert [(s.url, s.name or s.url, s.digests, s.credibility) for s in again] == \
           [(s.url, s.name or s.url, s.digests, s.credibility) for s in sources]


def test_opml_that_is_not_opml():
    with pytest.raises(FeedError, match="not OPML"):
        read_opml(b"<rss/>")
    with pytest.raises(FeedError, match="not valid OPML"):
        read_opml(b"<opml><body>")


class _ConditionalFeed(BaseHTTPRequestHandler):
    """Serves one feed with validators, answers a matching conditional request with 304, and records what each
    request sent and what it got."""

    body = rss([{"title": "Barrier approved", "link": "https://wire.example/a", "text": ARTICLE_A}]).encode()
    etag = '"wire-v1"'
    last_modified = "Fri, 13 Mar 2026 09:00:00 GMT"

    def do_GET(self) -> None:
        seen = {k: self.headers.get(k) for k in ("If-None-Match", "If-Modified-Since")}
        fresh = seen["If-None-Match"] == self.etag or seen["If-Modified-Since"] == self.last_modified
        self.server.log.append((seen, 304 if fresh else 200))
        self.send_response(304 if fresh else 200)
        self.send_header("ETag", self.etag)
        self.send_header("Last-Modified", self.last_modified)
        if fresh:
            self.end_headers()
            return
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def conditional_feed():
    """(feed URL, log of ({conditional headers sent}, status answered)) for a real server on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ConditionalFeed)
    server.log = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wire.rss", server.log
    finally:
        server.shutdown()
        server.server_close()


def test_conditional_get_sends_validators_and_takes_304_as_unchanged(conditional_feed, settings):
    url, log = conditional_feed
    source = Source(url=url, id=1)
    first = read_source(source, settings)
    assert first.status == "ok" and len(first.entries) == 1
    assert (first.etag, first.last_modified) == (_ConditionalFeed.etag, _ConditionalFeed.last_modified)
    # No content hash is passed on: "unchanged" can only come from the server's 304.
    again = read_source(source, settings, (None, first.etag, first.last_modified))
    assert again.unchanged and not again.entries
    assert log == [({"If-None-Match": None, "If-Modified-Since": None}, 200),
                   ({"If-None-Match": _ConditionalFeed.etag, "If-Modified-Since": _ConditionalFeed.last_modified},
                    304)]


def test_conditional_get_with_last_modified_only(http_dir, settings):
    """The stock file server sends Last-Modified and honours If-Modified-Since; the second read gets a 304."""
    root, base = http_dir
    (root / "wire.rss").write_text(rss([{"title": "Barrier approved", "link": "https://wire.example/a",
                                         "text": ARTICLE_A}]))
    source = Source(url=f"{base}/wire.rss", id=1)
    first = read_source(source, settings)
    assert first.last_modified
    statuses: list[tuple[str | None, int]] = []
    with httpx.Client(event_hooks={"response": [lambda r: statuses.append(
            (r.request.headers.get("If-Modified-Since"), r.status_code))]}) as client:
        again = read_source(source, settings, (None, first.etag, first.last_modified), client)
    assert again.unchanged
    assert statuses == [(first.last_modified, 304)]


@pytest.mark.parametrize("ending, teaser", [
    ("", False), (" read more", True), (" Continue reading\n", True), (" [...]", True), (" [ …   ]  \n", True),
    ("[" + " " * 60 + "...]", True), (" … and the rest of the sentence.", False), (" more »", True),
    (" the tally was 3...5", False), ("...  \n\n ", True),
])
def test_a_teaser_is_known_by_the_mark_that_ends_it(ending, teaser):
    from tidings.ingest.extract import _TRUNCATION_MARKS, is_truncated
    from tidings.model import Entry

    text = "An article long enough to stand on its own, with several sentences of reporting. " * 20 + ending
    assert is_truncated(Entry(url="https://example.org/a", title="T", text=text, publisher="P"), 200) is teaser
    assert bool(_TRUNCATION_MARKS.search(text)) is teaser  # only the end is searched: the same answer
