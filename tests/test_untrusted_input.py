"""Feeds and pages are written by strangers: their links, titles and bytes must not steer tidings.

A link found inside a feed or a page is kept only if it is an absolute http(s) URL, and only a source the user
named may be a local file. Text is stored without control characters, every item has a title, and valid items
that carry only a description are kept, once.
"""

import json
import re
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest

from tests.conftest import ARTICLE_A, ARTICLE_B, NOW, make_config, rss
from tidings.config import Settings
from tidings.dedupe import entry_keys, global_keys, keyed
from tidings.ingest import read_source
from tidings.ingest.extract import page_entry
from tidings.ingest.feeds import parse_feed
from tidings.ingest.fetch import FetchError, fetch, is_local
from tidings.ingest.tidy import tidy
from tidings.model import Entry, Source
from tidings.pipeline import opened, run
from tidings.store import Store

SECRET = "PLUGH-7731 the vault code is kept under the third stair"
TEASER = "A short teaser about the harbour barrier."
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def secret_page(folder: Path, name: str = "secret.html") -> Path:
    """A local HTML article that trafilatura would gladly extract, carrying a phrase no output may contain."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    body = " ".join([f"{SECRET}."] * 4) + " " + " ".join(["This private note must never be published."] * 8)
    path.write_text(f"<html><head><title>Private notes</title></head><body><article><h1>Private notes</h1>"
                    f"<p>{body}</p><p>{body}</p></article></body></html>")
    return path


def json_feed(items: list[dict], title: str = "Hostile Feed") -> str:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items})


def teaser_feed(secret: Path) -> str:
    return json_feed([
        {"id": "h-1", "url": secret.as_uri(), "title": "Read this", "content_text": TEASER},
        {"id": "h-2", "url": "https://hostile.example/fine", "title": "Fine", "content_text": TEASER},
    ])


def assert_no_secret(entries) -> None:
    for e in entries:
        assert e.url == "" or e.url.startswith(("http://", "https://")), e.url
        assert SECRET not in e.text and SECRET not in e.title, e
        assert "secret.html" not in e.url and "secret.html" not in (getattr(e, "error", None) or "")


# --- links that point at local files --------------------------------------------------------------------------

def test_json_feed_over_http_cannot_make_tidings_read_a_local_file(http_dir, tmp_path):
    root, base = http_dir
    secret = secret_page(tmp_path / "private")
    (root / "feed.json").write_text(teaser_feed(secret))
    result = read_source(Source(url=f"{base}/feed.json", name="Hostile", id=1), Settings(allow_private_networks=True))
    assert result.status == "ok"
    assert_no_secret(result.entries)
    dropped = next(e for e in result.entries if e.guid == "h-1")
    assert dropped.url == "" and dropped.title == "Read this" and dropped.text == TEASER


def test_json_feed_read_from_a_local_file_cannot_either(tmp_path):
    secret = secret_page(tmp_path / "private")
    feed = tmp_path / "feeds" / "feed.json"
    feed.parent.mkdir()
    feed.write_text(teaser_feed(secret))
    result = read_source(Source(url=str(feed), name="Hostile", id=1), Settings(allow_private_networks=True))
    assert result.status == "ok"
    assert_no_secret(result.entries)
    assert next(e for e in result.entries if e.guid == "h-1").url == ""


def test_the_secret_reaches_neither_the_store_nor_the_site(http_dir, tmp_path):
    root, base = http_dir
    secret = secret_page(tmp_path / "private")
    (root / "feed.json").write_text(teaser_feed(secret))
    config = make_config(tmp_path, [{"url": f"{base}/feed.json", "name": "Hostile"}])
    run(config, now=NOW)
    with opened(config) as store:
        assert_no_secret(store.items())
    published = [p for p in Path(config.resolve(config.site_dir)).rglob("*") if p.is_file()]
    assert published
    assert not [p for p in published if "PLUGH-7731" in p.read_text(errors="replace")]


def test_relative_link_in_a_local_feed_resolves_to_nothing(tmp_path):
    folder = tmp_path / "feeds"
    secret_page(folder / "pages")
    (folder / "wire.rss").write_text(rss([{"title": "Barrier approved", "link": "pages/secret.html",
                                           "guid": "wire-17", "summary": TEASER}]))
    result = read_source(Source(url=str(folder / "wire.rss"), name="Wire", id=1), Settings(allow_private_networks=True))
    [entry] = result.entries
    assert entry.url == "" and entry.guid == "wire-17" and entry.text == TEASER
    assert_no_secret(result.entries)


def test_relative_link_in_a_feed_over_http_still_resolves(http_dir):
    root, base = http_dir
    (root / "wire.rss").write_text(rss([{"title": "Barrier approved", "link": "stories/barrier.html",
                                         "text": ARTICLE_A}]))
    [entry] = read_source(Source(url=f"{base}/wire.rss", id=1), Settings(allow_private_networks=True)).entries
    assert entry.url == f"{base}/stories/barrier.html"


SECRET_URI = "file:///etc/secret.html"


@pytest.mark.parametrize("body", [
    rss([{"title": "Link", "link": SECRET_URI, "guid": "rss-1", "summary": TEASER}]),
    rss([{"title": "Permalink GUID", "link": "", "guid": SECRET_URI, "summary": TEASER}]),
    f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Ledger</title>
    <id>urn:x</id><updated>2026-03-13T10:00:00Z</updated>
    <entry><title>Atom link</title><id>tag:ledger.example,2026:1</id><link href="{SECRET_URI}"/>
    <updated>2026-03-13T10:00:00Z</updated><summary>{TEASER}</summary></entry></feed>""",
    f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Ledger</title>
    <id>urn:x</id><updated>2026-03-13T10:00:00Z</updated>
    <entry><title>Atom id</title><id>{SECRET_URI}</id>
    <updated>2026-03-13T10:00:00Z</updated><summary>{TEASER}</summary></entry></feed>""",
    json_feed([{"id": "j-1", "url": SECRET_URI, "title": "JSON url", "content_text": TEASER}]),
    json_feed([{"id": "j-2", "external_url": SECRET_URI, "title": "JSON external_url", "content_text": TEASER}]),
    f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"
    xml:base="file:///etc/"><title>Ledger</title><id>urn:x</id><updated>2026-03-13T10:00:00Z</updated>
    <entry><title>xml:base</title><id>tag:ledger.example,2026:2</id><link href="secret.html"/>
    <updated>2026-03-13T10:00:00Z</updated><summary>{TEASER}</summary></entry></feed>""",
], ids=["rss-link", "rss-guid", "atom-link", "atom-id", "json-url", "json-external-url", "atom-xml-base"])
def test_no_feed_format_keeps_a_file_link(body):
    for base in ("https://feeds.example/feed", "file:///srv/feeds/feed.xml"):
        [entry] = parse_feed(body.encode(), base, "Pub")[0]
        assert entry.url == "", (base, entry)
        assert entry.guid  # the feed's id stays the entry's identity
        assert entry.text == TEASER


# --- javascript: and other schemes ------------------------------------------------------------------------------

@pytest.mark.parametrize("link", ["javascript:alert(document.cookie)", " JavaScript:alert(1)",
                                  "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
                                  "mailto:someone@example.org", "http://", "file:relative.html"])
def test_links_that_are_not_web_links_are_never_stored(tmp_path, link):
    body = json_feed([{"id": "js-1", "url": link, "title": "Click me", "content_text": TEASER},
                      {"url": link, "title": "No id either", "content_text": TEASER + " Another one."}])
    entries = parse_feed(body.encode(), "https://feeds.example/feed.json")[0]
    assert [e.url for e in entries] == ["", ""]
    keys = [entry_keys(e, 1)[0] for e in entries]
    assert keys[0] == ["guid:1:js-1"]
    assert keys[1] == [f"hash:{entry_keys(entries[1], 1)[1]}"]
    store = Store(str(tmp_path / "store.db"))
    try:
        source = store.upsert_source(Source(url="https://feeds.example/feed.json", name="Hostile"), NOW)
        store.ingest(source, [keyed(e, source.id) for e in entries], NOW)
        items = store.items()
    finally:
        store.close()
    assert len(items) == 2 and {i.url for i in items} == {""}


def test_javascript_link_in_rss_is_dropped():
    body = rss([{"title": "Click me", "link": "javascript:alert(document.cookie)", "guid": "rss-js",
                 "summary": TEASER}])
    [entry] = parse_feed(body.encode(), "https://feeds.example/feed")[0]
    assert entry.url == "" and entry.guid == "rss-js"


def test_a_page_cannot_claim_a_canonical_link_that_is_not_a_web_link(http_dir, tmp_path):
    root, base = http_dir
    article = f"<article><h1>Barrier approved</h1>{ARTICLE_A}</article>"
    (root / "hostile.html").write_text(
        f'<html><head><link rel="canonical" href="file:///etc/passwd"></head><body>{article}</body></html>')
    (root / "relative.html").write_text(
        f'<html><head><link rel="canonical" href="/news/barrier"></head><body>{article}</body></html>')
    loopback = Settings(allow_private_networks=True)
    assert read_source(Source(url=f"{base}/hostile.html", id=1), loopback).entries[0].url == f"{base}/hostile.html"
    assert read_source(Source(url=f"{base}/relative.html", id=1), loopback).entries[0].url == f"{base}/news/barrier"
    local = tmp_path / "page.html"
    local.write_text(f'<html><head><link rel="canonical" href="javascript:alert(1)"></head><body>{article}'
                     "</body></html>")
    assert page_entry(local.read_bytes(), local.as_uri()).url == local.as_uri()
    # A page read from a file the user named may still say where it lives on the web.
    local.write_text(f'<html><head><link rel="canonical" href="https://wire.example/barrier"></head>'
                     f"<body>{article}</body></html>")
    assert page_entry(local.read_bytes(), local.as_uri()).url == "https://wire.example/barrier"


# --- fetch() reads local files only when told to ----------------------------------------------------------------

def test_fetch_refuses_a_local_file_unless_allowed(tmp_path):
    path = tmp_path / "notes.html"
    path.write_text("<p>private</p>")
    for location in (str(path), path.as_uri(), "FILE://" + str(path)):
        with pytest.raises(FetchError) as err:
            fetch(location)
        message = str(err.value)
        assert str(path) in message and "\n" not in message and "local file" in message
    assert fetch(str(path), allow_local=True).body == b"<p>private</p>"
    assert fetch(path.as_uri(), allow_local=True).body == b"<p>private</p>"


def test_strings_with_a_scheme_are_not_paths():
    assert not is_local("javascript:alert(1)") and not is_local("data:text/plain,x")
    assert is_local("feeds/wire.rss") and is_local("/srv/feeds/wire.rss") and is_local("file:///srv/wire.rss")
    with pytest.raises(FetchError, match="unsupported URL scheme 'javascript'"):
        fetch("javascript:alert(1)", allow_local=True)


# --- control characters and missing titles -----------------------------------------------------------------------

def assert_clean(entry: Entry) -> None:
    for field in ("title", "text", "publisher", "author", "guid"):
        value = getattr(entry, field) or ""
        assert not CONTROLS.search(value), (field, value)


def test_control_characters_are_stripped_from_json_feeds():
    body = json_feed([{"id": "c\u00001", "url": "https://wire.example/a", "title": "Barrier\u0000 approved\u0007",
                       "content_text": "The \u001b[31mharbour\u0007 authority\u0085voted.\u009b\r\nIt\u000cpassed.",
                       "authors": [{"name": "R.\u0000 Vale\u007f"}]}], title="Wire\u0007 Service")
    [entry] = parse_feed(body.encode(), "https://wire.example/feed.json")[0]
    assert_clean(entry)
    assert entry.title == "Barrier approved"
    assert entry.text == "The [31mharbour authority voted. It passed."
    assert (entry.publisher, entry.author, entry.guid) == ("Wire Service", "R. Vale", "c1")


def test_lone_surrogates_from_json_escapes_are_dropped(tmp_path):
    """JSON can spell half a UTF-16 pair ("\\ud83d"); such a string cannot be encoded, stored or put in XML."""
    body = json_feed([{"id": "s\ud800", "url": "https://wire.example/s", "title": "Barrier \ud83dapproved",
                       "content_text": "Voted\udc00 today."}], title="Wire\udfff")
    assert "\\ud83d" in body  # json.dumps spells the lone surrogate as an escape, as a hostile feed would
    [entry] = parse_feed(body.encode(), "https://wire.example/feed.json")[0]
    assert (entry.title, entry.text, entry.publisher, entry.guid) == ("Barrier approved", "Voted today.", "Wire", "s")
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "wire.json").write_text(body)
    config = make_config(tmp_path, [{"url": str(folder / "wire.json")}])
    assert run(config, now=NOW).items_new == 1


def test_control_characters_are_stripped_from_rss_and_atom():
    body = rss([{"title": "Barrier &#27;[1mapproved&#7;", "link": "https://wire.example/a", "guid": "g\x1b1",
                 "summary": "The harbour\x07 authority voted.", "text": "<p>The harbour&#x7; authority voted.</p>"}],
               title="Wire\x07")
    [entry] = parse_feed(body.encode(), "https://wire.example/feed")[0]
    assert_clean(entry)
    assert entry.title == "Barrier [1mapproved" and "\x1b" not in entry.guid
    atom = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>L</title><id>urn:l</id>'
            "<entry><title>Grid\x00 review</title><id>tag:l,2026:1</id><link href='https://l.example/g'/>"
            "<author><name>Ann\x1b Lee</name></author><content type='html'>&lt;p&gt;Opened\x07 today."
            "&lt;/p&gt;</content></entry></feed>")
    [entry] = parse_feed(atom.encode(), "https://l.example/feed")[0]
    assert_clean(entry)
    assert entry.title == "Grid review" and entry.text == "Opened today."


def test_control_characters_are_stripped_from_pages(tmp_path):
    page = tmp_path / "page.html"
    article = ARTICLE_A.replace("Thursday", "Thurs\x07day")
    page.write_text("<html><head><title>Barrier\x07 approved\x00</title><meta name='author' content='A\x1bnn'>"
                    f"</head><body><article>{article}</article></body></html>")
    [entry] = read_source(Source(url=str(page), name="Wire\x1b", id=1), Settings(allow_private_networks=True)).entries
    assert_clean(entry)
    assert entry.title == "Barrier approved" and "Thursday" in entry.text and entry.author == "Ann"


def test_untitled_items_get_a_title():
    body = json_feed([
        {"id": "1", "url": "https://wire.example/2026/03/harbour-barrier-vote.html", "title": ""},
        {"id": "2", "url": "https://wire.example/b", "title": "  \u0007 ", "content_text": "Port Ellery approved "
         "a new tidal barrier on Thursday after two years of debate in the harbour council."},
    ])
    first, second = parse_feed(body.encode(), "https://wire.example/feed.json")[0]
    assert first.title == "wire.example: harbour barrier vote"
    assert second.title == "Port Ellery approved a new tidal barrier on Thursday after two years…"
    atom = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>L</title><id>urn:l</id>'
            "<entry><title></title><id>tag:l,2026:1</id><link href='https://l.example/grid-review/'/></entry>"
            "</feed>")
    assert parse_feed(atom.encode(), "https://l.example/feed")[0][0].title == "l.example: grid review"


def test_hostile_text_and_untitled_items_still_make_a_clean_site_and_atom_feed(tmp_path):
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "wire.json").write_text(json_feed([
        {"id": "1", "url": "https://wire.example/barrier", "title": "",
         "content_html": ARTICLE_A.replace("harbour", "harbour\u0007").replace("Thursday", "Thurs\u001bday")},
        {"id": "2", "url": "https://wire.example/barrier-vote", "title": "Barrier\u0000 vote\u0085 passes",
         "content_html": ARTICLE_A.replace("debate", "debate\u0000")},
    ], title="Wire\u0007"))
    config = make_config(tmp_path, [{"url": str(folder / "wire.json")}])
    run(config, now=NOW)
    with opened(config) as store:
        stories = store.stories()
        assert stories and all(s.title.strip() for s in stories)
        for item in store.items():
            assert item.title and not CONTROLS.search(item.title + item.text + item.publisher)
    feed = feedparser.parse((Path(config.resolve(config.site_dir)) / "news" / "feed.atom").read_bytes())
    assert feed.bozo == 0 and feed.entries and all(e.title.strip() for e in feed.entries)


# --- items with only a description ------------------------------------------------------------------------------

DESCRIPTION_ONLY = """<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Notes</title>
<link>https://notes.example/</link><description>Short notes</description>
<item><description>The harbour council met on Thursday and approved the barrier budget.</description></item>
<item><description>Comet watchers gathered on the pier on Saturday night.</description></item>
<item><guid isPermaLink="false">note-3</guid><description>Tide tables for April are out.</description></item>
</channel></rss>"""


def test_rss_items_with_only_a_description_are_kept():
    entries, warning, _ = parse_feed(DESCRIPTION_ONLY.encode(), "https://notes.example/rss")
    assert warning is None
    assert [e.url for e in entries] == ["", "", ""]
    assert [e.title for e in entries] == [
        "The harbour council met on Thursday and approved the barrier budget.",
        "Comet watchers gathered on the pier on Saturday night.", "Tide tables for April are out."]
    assert [e.guid for e in entries] == [None, None, "note-3"]


def test_link_less_entries_have_their_own_keys():
    a, b, c = parse_feed(DESCRIPTION_ONLY.encode(), "https://notes.example/rss")[0]
    keys = [set(entry_keys(e, 7)[0]) for e in (a, b, c)]
    assert not any(k.startswith("url:") for ks in keys for k in ks)
    assert keys[0] == {"hash:" + entry_keys(a, 7)[1]} and keys[1] == {"hash:" + entry_keys(b, 7)[1]}
    assert keys[2] == {"guid:7:note-3"}  # its GUID is its identity; its short text is too generic to be one
    assert global_keys(a) == [] and global_keys(c) == []


def test_rereading_a_feed_of_link_less_items_does_not_duplicate_them(tmp_path):
    folder = tmp_path / "feeds"
    folder.mkdir()
    path = folder / "notes.rss"
    path.write_text(DESCRIPTION_ONLY)
    config = make_config(tmp_path, [{"url": str(path), "name": "Notes"}])
    first = run(config, now=NOW, publish=False)
    assert first.items_new == 3
    # New bytes force a full re-read rather than the unchanged-file shortcut.
    path.write_text(DESCRIPTION_ONLY.replace("</channel>", "<!-- refreshed --></channel>"))
    second = run(config, now=NOW + timedelta(hours=1), publish=False)
    assert second.sources_ok == 1 and second.items_new == 0
    with opened(config) as store:
        assert store.counts()["items"] == 3


# --- entries that need fixing before they are stored ------------------------------------------------------------------

def _feed_entries(items: list[dict]) -> list:
    return parse_feed(rss(items).encode(), "https://wire.example/feed.xml")[0]


def test_far_future_dates_repeats_and_shared_guids_are_fixed_and_said():
    far = {"title": "Barrier opens", "link": "https://wire.example/a", "text": ARTICLE_A,
           "date": "Fri, 01 Jan 2100 09:00:00 +0000"}
    soon = {"title": "Comet tonight", "link": "https://wire.example/b", "text": ARTICLE_B,
            "date": "Fri, 20 Mar 2026 20:00:00 +0000"}  # hours ahead of NOW: another time zone, not an error
    one, two = (dict(x, guid="item") for x in ({"title": "First", "link": "https://wire.example/1", "text": "One."},
                                               {"title": "Second", "link": "https://wire.example/2", "text": "Two."}))
    entries, notes = tidy(_feed_entries([far, soon, far, one, two]), NOW)
    assert [e.title for e in entries] == ["Barrier opens", "Comet tonight", "First", "Second"]
    assert entries[0].published is None and "dated 2100-01-01, in the future" in entries[0].error
    assert entries[1].published is not None and entries[1].error is None
    assert entries[2].guid is None and entries[3].guid is None
    assert notes == ["1 repeated entry dropped",
                     "2 different entries share GUIDs; they are told apart by their links and text",
                     "1 entry is dated in the future; the time it was first seen is used"]


def test_a_date_that_cannot_be_read_is_said_on_the_item():
    [entry] = _feed_entries([{"title": "Barrier", "link": "https://wire.example/a", "text": ARTICLE_A,
                              "date": "the day after tomorrow"}])
    assert entry.published is None
    assert entry.error == "date 'the day after tomorrow' not understood; the time it was first seen is used"


def test_a_feed_whose_entries_share_one_guid_keeps_them_all(tmp_path):
    items = [{"title": f"Harbour note {i}", "link": f"https://wire.example/n{i}", "guid": "1",
              "text": f"<p>Note {i}. " + ARTICLE_A + "</p>"} for i in range(3)]
    items[1]["text"] = "<p>" + ARTICLE_B + "</p>"
    items[2]["text"] = "<p>The festival opens on Friday with forty stalls along the quay and music at night.</p>"
    (tmp_path / "wire.rss").write_text(rss(items))
    result = read_source(Source(url=str(tmp_path / "wire.rss"), id=1), Settings(fetch_full_text=False), now=NOW)
    assert result.status == "warning" and "3 different entries share GUIDs" in result.error
    assert len({e.url for e in result.entries}) == 3 and all(e.guid is None for e in result.entries)
