"""Character sets that servers get wrong, the feeds a page advertises, and robots.txt for page fetches.

Every input here is what a stranger's server may send: labels that lie, labels that name codecs no document may
use, entity bombs, links to `javascript:` and local files, pages of many megabytes.
"""

import contextlib
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tidings.ingest.charset import decode, to_utf8_xml
from tidings.ingest.discover import feed_links
from tidings.ingest.extract import page_entry
from tidings.ingest.feeds import parse_feed
from tidings.ingest.robots import RobotsCache, product_token

BASE = "https://news.example/feed"


def rss(title: str, encoding: str | None = None) -> str:
    decl = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else '<?xml version="1.0"?>'
    return (f'{decl}<rss version="2.0"><channel><title>Wire</title><item><title>{title}</title>'
            "<link>https://news.example/a</link><description>A report from the lake.</description></item>"
            "</channel></rss>")


# --- decode ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_a_byte_order_mark_wins_over_every_label(codec):
    body = "Zürich café".encode(codec)
    if codec == "utf-16-be":
        body = b"\xfe\xff" + body
    if codec == "utf-32-be":
        body = b"\x00\x00\xfe\xff" + body
    decoded = decode(body, "text/plain; charset=iso-8859-1")
    assert decoded.text == "Zürich café"
    assert decoded.warning is None


def test_utf8_bytes_under_a_latin1_header_are_read_as_utf8_with_a_warning():
    decoded = decode("Zürich café".encode(), "text/xml; charset=ISO-8859-1")
    assert (decoded.text, decoded.encoding) == ("Zürich café", "utf-8")
    assert decoded.warning == "declared charset 'ISO-8859-1' does not fit the bytes; read as utf-8"


def test_no_warning_when_the_document_itself_declares_what_fits():
    decoded = decode(rss("Zürich", "utf-8").encode(), 'application/rss+xml; charset="iso-8859-1"')
    assert "Zürich" in decoded.text and decoded.warning is None


def test_a_label_that_fits_is_followed():
    decoded = decode(rss("Zürich", "iso-8859-1").encode("latin-1"))
    assert "Zürich" in decoded.text and decoded.warning is None
    assert decode("Ελλάδα".encode("iso-8859-7"), "text/plain; charset=iso-8859-7").text == "Ελλάδα"


def test_the_header_counts_before_the_document():
    decoded = decode(rss("Zürich", "utf-8").encode("latin-1"), "text/xml; charset=latin-1")
    assert "Zürich" in decoded.text and decoded.warning is None


def test_bytes_that_fit_nothing_declared_are_read_as_cp1252():
    decoded = decode(rss("Zürich", "utf-8").encode("latin-1"))
    assert "Zürich" in decoded.text and decoded.encoding == "cp1252"
    assert decoded.warning == "declared charset 'utf-8' does not fit the bytes; read as cp1252"
    undeclared = decode("naïve".encode("latin-1"))
    assert undeclared.text == "naïve"
    assert undeclared.warning == "no charset declared and the bytes are not UTF-8; read as cp1252"


def test_decoding_never_fails():
    decoded = decode(b"<p>\x81\x8d\x8f\x90\x9d \xff\xfe</p>", "text/html; charset=utf-8")  # not even cp1252
    assert decoded.text.startswith("<p>") and decoded.encoding == "cp1252" and decoded.warning


@pytest.mark.parametrize("label", ["zlib", "base64", "hex", "rot13", "utf-7", "unicode_escape", "idna", "punycode",
                                   "x-no-such-charset", "a" * 300])
def test_unknown_and_unsafe_labels_fall_back_to_utf8(label):
    body = "+ADw-script+AD4- \\u0041 café".encode()
    decoded = decode(body, f"text/html; charset={label}")
    assert decoded.text == body.decode("utf-8")
    assert decoded.warning and decoded.warning.endswith("; read as utf-8") and "\n" not in decoded.warning


def test_a_wide_label_on_ascii_bytes_does_not_turn_them_into_cjk():
    decoded = decode(b"<rss><title>plain</title></rss>", "application/xml; charset=utf-16")
    assert decoded.text == "<rss><title>plain</title></rss>" and decoded.warning


def test_utf16_without_a_bom_is_recognised_by_its_declaration():
    decoded = decode(rss("Zürich", "utf-16").encode("utf-16-be"))
    assert "Zürich" in decoded.text and decoded.encoding == "utf-16-be"


def test_html_meta_charsets():
    smart = "<p>\u201cQuoted\u201d \u2014 it\u2019s \u20ac5</p>"
    meta = f'<html><head><meta charset="windows-1252"></head><body>{smart}</body></html>'
    assert smart in decode(meta.encode("cp1252")).text
    equiv = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head>'
             f"<body>{smart}</body></html>")
    assert smart in decode(equiv.encode("cp1252")).text  # Latin-1 means cp1252, as in browsers


def test_json_text_is_not_searched_for_markup_declarations():
    body = '<meta charset=koi8-r> café'
    assert decode(body.encode()).warning  # markup declares itself, so a label that does not fit is reported
    json_body = json.dumps({"content_html": body}, ensure_ascii=False).encode()
    assert decode(json_body).warning is None and "café" in decode(json_body).text


def test_to_utf8_xml_rewrites_the_declaration_and_drops_the_bom():
    body = ("\ufeff" + rss("Zürich", "UTF-16")).encode("utf-16-le")
    utf8, warning = to_utf8_xml(body)
    assert utf8.startswith(b'<?xml version="1.0" encoding="utf-8"?>') and "Zürich".encode() in utf8
    assert warning is None
    assert to_utf8_xml(b"<rss/>", "") == (b"<rss/>", None)


# --- feeds and pages ------------------------------------------------------------------------------------------

def test_a_utf8_feed_served_as_latin1_keeps_its_text():
    body = rss("Zürich café").encode()
    [entry], warning, _ = parse_feed(body, BASE, "Pub", "application/rss+xml; charset=iso-8859-1")
    assert entry.title == "Zürich café"
    assert warning == "declared charset 'iso-8859-1' does not fit the bytes; read as utf-8"


def test_a_latin1_feed_declared_utf8_keeps_its_text_with_a_warning():
    [entry], warning, _ = parse_feed(rss("Zürich café", "utf-8").encode("latin-1"), BASE, "Pub", "text/xml")
    assert entry.title == "Zürich café"
    assert warning == "declared charset 'utf-8' does not fit the bytes; read as cp1252"


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_a_wide_feed_with_a_bom(codec):
    [entry], warning, title = parse_feed(rss("Zürich café", codec).encode(codec), BASE, "Pub",
                                         "application/xml; charset=utf-8")
    assert (entry.title, title, warning) == ("Zürich café", "Wire", None)


def test_a_charset_warning_joins_the_feeds_own():
    body = rss("Zürich café").replace("</channel>", "<item><title>broken").encode()
    entries, warning, _ = parse_feed(body, BASE, "Pub", "text/xml; charset=iso-8859-1")
    assert entries[0].title == "Zürich café"
    assert warning.startswith("declared charset 'iso-8859-1' does not fit the bytes; read as utf-8; feed has errors")


def test_a_json_feed_is_decoded_by_its_header_too():
    body = ('{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [{"id": "1", '
            '"url": "https://news.example/j", "title": "Zürich", "content_text": "café"}]}').encode("utf-16")
    [entry], warning, _ = parse_feed(body[2:], BASE, "", "application/feed+json; charset=utf-16-le")
    assert (entry.title, entry.text, warning) == ("Zürich", "café", None)
    [entry], warning, _ = parse_feed(body[2:].decode("utf-16-le").encode("latin-1"), BASE)
    assert entry.title == "Zürich" and warning.endswith("read as cp1252")


LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
XXE = '<!ENTITY xxe SYSTEM "file:///etc/passwd">'
ENTITY_CHILD = """
import json, sys, time
from tidings.ingest.feeds import parse_feed
out = []
for body in json.load(sys.stdin):
    started = time.monotonic()
    entries = parse_feed(bytes.fromhex(body), "https://news.example/feed", "Pub", "text/xml; charset=utf-8")[0]
    out.append([time.monotonic() - started, [e.title + " " + e.text for e in entries]])
print(json.dumps(out))
"""


def entity_feed(codec: str, sep: str, doctype: str, ref: str) -> bytes:
    """A feed whose DTD declares `doctype` and whose title uses `ref`; `sep` puts each declaration on its own line
    (feedparser strips unsafe declarations that start a line; expat's own limits stop the others)."""
    body = rss(f"x {ref}", codec).replace("<rss", f"<!DOCTYPE rss [{sep}{doctype.replace('><', f'>{sep}<')}"
                                                  f"{sep}]>{sep}<rss", 1)
    return body.encode(codec)


def test_entity_bombs_and_external_entities_still_do_not_expand():
    bodies = [entity_feed(codec, sep, doctype, ref) for codec in ("utf-8", "utf-16", "iso-8859-1")
              for sep in ("", "\n") for doctype, ref in (('<!ENTITY lol0 "lol">' + LAUGHS, "&lol9;"), (XXE, "&xxe;"))]
    # In a process of its own: expat stops a bomb only after it has grown by some tens of megabytes, which this
    # process would keep.
    child = subprocess.run([sys.executable, "-c", ENTITY_CHILD], input=json.dumps([b.hex() for b in bodies]),
                           capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert child.returncode == 0, child.stderr[-2000:]
    results = json.loads(child.stdout)
    assert len(results) == len(bodies)
    for seconds, texts in results:
        assert seconds < 5 and texts
        assert all(len(t) < 200 and "lollol" not in t and "root:" not in t for t in texts), texts


def test_a_windows_1252_page_keeps_its_smart_quotes():
    para = "\u201cThe harbour barrier held,\u201d the engineer said \u2014 it\u2019s the third storm this year. "
    page = ('<html><head><meta charset="windows-1252"><title>Barrier holds</title></head><body><article>'
            f"<h1>Barrier holds</h1><p>{para * 4}</p><p>{para * 3}</p></article></body></html>")
    entry = page_entry(page.encode("cp1252"), "https://news.example/barrier")
    assert "\u201cThe harbour barrier held,\u201d" in entry.text and "it\u2019s" in entry.text
    header = page_entry(page.replace("windows-1252", "utf-8").encode("cp1252"), "https://news.example/barrier",
                        content_type="text/html; charset=windows-1252")
    assert "\u2014 it\u2019s" in header.text


# --- feed discovery -------------------------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><title>News</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml">
<link rel="Alternate Home" type="Application/Atom+XML" href="atom.xml">
<link rel="alternate" type="application/feed+json; charset=utf-8" href="https://cdn.example/feed.json">
<link rel="alternate" type="application/json" href="/feed.xml">
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="application/rss+xml" href="file:///etc/passwd">
<link rel="alternate" type="application/rss+xml" href="data:text/xml,&lt;rss/&gt;">
<link rel="alternate" type="application/rss+xml">
<link rel="feed" type="application/rss+xml" href="/not-alternate.xml">
</head><body><p>Comments</p>
<link rel="alternate" type="application/rss+xml" href="https://spam.example/feed">
</body></html>"""


def test_feed_links_in_document_order_resolved_and_once_each():
    assert feed_links(PAGE.encode(), "https://news.example/section/") == [
        "https://news.example/feed.xml", "https://news.example/section/atom.xml", "https://cdn.example/feed.json"]


def test_feed_links_follow_base_href_only_when_it_is_a_web_address():
    page = '<head><base href="/blog/"><link rel=alternate type=application/rss+xml href=rss></head>'
    assert feed_links(page.encode(), "https://news.example/x") == ["https://news.example/blog/rss"]
    page = page.replace("/blog/", "javascript:void(0)/")
    assert feed_links(page.encode(), "https://news.example/x") == ["https://news.example/rss"]


def test_feed_links_of_a_local_page_keep_only_absolute_web_links():
    page = ('<head><link rel=alternate type=application/rss+xml href=feed.xml>'
            '<link rel=alternate type=application/rss+xml href=http://news.example/rss></head>')
    assert feed_links(page.encode(), "file:///home/me/page.html") == ["http://news.example/rss"]


def test_feed_links_read_the_pages_charset():
    page = '<head><meta charset="utf-16"><link rel="alternate" type="application/rss+xml" href="/zürich"></head>'
    assert feed_links(("\ufeff" + page).encode("utf-16-le"), "https://news.example/") == [
        "https://news.example/zürich"]


@pytest.mark.parametrize("body", [b"", b"\x00" * 1000, b"\xff\xfe\x00", b"<", b"not html at all",
                                  b"<html><head>" + b"<div>" * 200_000, b"<!--" + b"x" * 1_000_000])
def test_feed_links_of_junk_is_nothing(body):
    assert feed_links(body, "https://news.example/") == []


def test_a_huge_page_is_read_only_so_far():
    link = b'<link rel="alternate" type="application/rss+xml" href="/f%d.xml">'
    body = b"<html><head>" + b"".join(link % i for i in range(40_000)) + b"</head></html>"  # about 2.5 MB
    started = time.monotonic()
    found = feed_links(body, "https://news.example/")
    assert time.monotonic() - started < 5
    assert found[0] == "https://news.example/f0.xml" and 1000 < len(found) < 10_000
    cut = "Zürich ".encode() * 40_000  # a multi-byte character falls across the cut
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/z\xc3\xbc"><title>' + cut
    assert feed_links(page, "https://news.example/") == ["https://news.example/zü"]


# --- robots.txt -----------------------------------------------------------------------------------------------

ROBOTS = b"""User-agent: *
Disallow: /private/

User-agent: tidings
Disallow: /members/
Disallow: /search

User-agent: othercrawler
Disallow: /
"""


class RobotsServer(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    lock = threading.Lock()

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        port = self.server.server_address[1]
        with self.lock:
            self.hits[f"{port}{self.path}"] = self.hits.get(f"{port}{self.path}", 0) + 1
        kind = self.server.kind
        if self.path != "/robots.txt" or kind == "missing":
            return self._send(404, b"not here")
        if kind == "failing":
            return self._send(503, b"busy")
        time.sleep(0.05)  # long enough for threads that ask at once to overlap
        self._send(200, ROBOTS if kind == "rules" else b"\x00\xff" * 600_000 + b"\nUser-agent: *\nDisallow: /\n")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


@pytest.fixture(scope="module")
def sites():
    servers = {}
    for kind in ("rules", "missing", "failing", "huge"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), RobotsServer)
        server.daemon_threads = True
        server.kind = kind
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[kind] = server
    yield {kind: f"http://127.0.0.1:{s.server_address[1]}" for kind, s in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def robots_hits(origin: str) -> int:
    return RobotsServer.hits.get(origin.rsplit(":", 1)[1] + "/robots.txt", 0)


def fetch_text(url: str) -> tuple[int, bytes]:
    resp = httpx.get(url, timeout=5)
    return resp.status_code, resp.content


def test_robots_rules_for_our_product_token(sites):
    origin = sites["rules"]
    robots = RobotsCache(fetch_text, "tidings/0.1 (+https://tidings.example)")
    assert robots.allowed(f"{origin}/news/today") is True
    assert robots.allowed(f"{origin}/members/area") is False
    assert robots.allowed(f"{origin}/search?q=storm") is False
    assert robots.allowed(f"{origin}/private/x") is True  # our own group replaces the "*" group
    other = RobotsCache(fetch_text, "somebot/2.0")
    assert other.allowed(f"{origin}/private/x") is False and other.allowed(f"{origin}/members/area") is True
    assert RobotsCache(fetch_text, "othercrawler/1").allowed(f"{origin}/news/today") is False


def test_a_missing_robots_txt_allows_everything_and_is_asked_once(sites):
    origin = sites["missing"]
    robots = RobotsCache(fetch_text, "tidings/0.1")
    before = robots_hits(origin)
    assert all(robots.allowed(f"{origin}/page/{i}") for i in range(20))
    assert robots_hits(origin) - before == 1


def test_robots_txt_is_fetched_once_per_origin_however_many_threads_ask(sites):
    origin = sites["rules"]
    robots = RobotsCache(fetch_text, "tidings/0.1")
    before = robots_hits(origin)
    answers: list[bool] = []
    start = threading.Barrier(16)

    def ask(i: int) -> None:
        start.wait()
        answers.append(robots.allowed(f"{origin}/members/{i}" if i % 2 else f"{origin}/news/{i}"))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert robots_hits(origin) - before == 1
    assert sorted(answers) == [False] * 8 + [True] * 8


def test_a_failing_robots_txt_allows_but_is_asked_again_later(sites):
    origin = sites["failing"]
    now = [0.0]
    robots = RobotsCache(fetch_text, "tidings/0.1", retry=60, clock=lambda: now[0])
    before = robots_hits(origin)
    assert robots.allowed(f"{origin}/a") and robots.allowed(f"{origin}/b")
    assert robots_hits(origin) - before == 1
    now[0] = 61.0
    assert robots.allowed(f"{origin}/c")
    assert robots_hits(origin) - before == 2


def test_robots_errors_and_statuses():
    def raising(url: str) -> tuple[int, bytes]:
        raise RuntimeError("network down")

    assert RobotsCache(raising, "tidings").allowed("https://a.example/x") is True
    for status in (401, 403, 404, 410, 429, 500, 503):
        assert RobotsCache(lambda url, s=status: (s, b"User-agent: *\nDisallow: /"), "tidings").allowed(
            "https://a.example/x") is True
    asked: list[str] = []

    def recording(url: str) -> tuple[int, bytes]:
        asked.append(url)
        return 200, b"User-agent: *\nDisallow: /x"

    robots = RobotsCache(recording, "tidings/1")
    assert robots.allowed("file:///etc/passwd") and robots.allowed("javascript:alert(1)") and asked == []
    assert robots.allowed("https://user:pw@A.Example:443/x?y") is False
    assert robots.allowed("https://a.example:8443/y") and robots.allowed("http://[::1]:80/y")
    assert asked == ["https://a.example/robots.txt", "https://a.example:8443/robots.txt", "http://[::1]/robots.txt"]


def test_a_huge_robots_txt_is_read_only_so_far(sites):
    robots = RobotsCache(fetch_text, "tidings/0.1")
    assert robots.allowed(f"{sites['huge']}/anything") is True  # its "Disallow: /" lies past the cap


def test_product_token():
    assert product_token("tidings/0.1 (+https://tidings.example)") == "tidings"
    assert product_token("  tidings ") == "tidings" and product_token("") == "*"
