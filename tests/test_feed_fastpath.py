"""The lxml fast path for RSS/Atom (tidings.ingest.xmlfeed) gives exactly what feedparser gives, or declines.

Every comparison runs `parse_feed` twice, once with `fast=False` (feedparser only, the reference) and once as
ingest does, and asserts equal entries, warning and title (or the same error); the ordinary documents must also
have been read by the fast path, or the comparison would prove nothing.
"""

from __future__ import annotations

import random
from pathlib import Path

import feedparser
import pytest

from tests.conftest import ARTICLE_A, ARTICLE_A2, ARTICLE_B, NOW, make_config, rss
from tidings.ingest import xmlfeed
from tidings.ingest.charset import to_utf8_xml
from tidings.ingest.feeds import FeedError, parse_feed

BASE = "https://feeds.example/news/feed.xml"
DEMO = Path(__file__).resolve().parent.parent / "tidings" / "data" / "demo" / "days"
NS = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:atom="http://www.w3.org/2005/Atom" '
      'xmlns:media="http://search.yahoo.com/mrss/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
      'xmlns:slash="http://purl.org/rss/1.0/modules/slash/"')


def outcome(body: bytes, fast: bool, base: str = BASE):
    try:
        return parse_feed(body, base, "", "", fast=fast)
    except FeedError as exc:
        return "FeedError", str(exc)


def accepted(body: bytes) -> bool:
    return xmlfeed.read_feed(to_utf8_xml(body)[0]) is not None


def assert_same(body: bytes | str, fast: bool | None = True, base: str = BASE) -> None:
    """Both paths give the same result; `fast` says whether the fast path must accept the document (None: either
    way)."""
    body = body.encode("utf-8") if isinstance(body, str) else body
    if fast is not None:
        assert accepted(body) is fast
    assert outcome(body, True, base) == outcome(body, False, base)


def rss_doc(items: str, channel: str = "<title>Wire</title><link>https://wire.example/</link>", root: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" {NS}{root}>'
            f"<channel>{channel}{items}</channel></rss>")


def atom_doc(entries: str, head: str = "<title>Ledger</title><id>urn:ledger</id>", root: str = "") -> str:
    return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"{root}>{head}{entries}</feed>'


# --- feeds from the project -----------------------------------------------------------------------------------

def demo_feeds() -> list[Path]:
    return sorted(p for p in DEMO.glob("*/*") if p.suffix in (".rss", ".atom", ".xml", ".rdf"))


def test_the_demo_corpus_reads_the_same_and_only_odd_files_are_declined():
    files = demo_feeds()
    assert len(files) > 20
    declined = []
    for path in files:
        body = path.read_bytes()
        assert_same(body, fast=None)
        if not accepted(body):
            declined.append(path)
    # What is declined: an HTML error page served as a feed, a feed that is not well-formed, one with a <script>.
    for path in declined:
        body = path.read_bytes()
        parsed = feedparser.parse(to_utf8_xml(body)[0])
        assert body.lstrip().lower().startswith(b"<!doctype html") or parsed.bozo or b"&lt;script" in body \
            or b"<script" in body, path
    assert len(declined) <= 6


def test_feeds_written_by_the_test_helpers_read_the_same():
    items = [
        {"title": "Port Ellery approves tidal barrier", "link": "https://wire.example/barrier", "text": ARTICLE_A},
        {"title": "Comet visible", "link": "https://wire.example/comet", "text": ARTICLE_B, "guid": "comet-1",
         "summary": "A rare comet.", "date": "Sat, 14 Mar 2026 20:00:00 GMT"},
        {"title": "Barrier works start", "link": "/barrier-2", "text": ARTICLE_A2, "guid": "https://wire.example/b2",
         "date": "2026-03-15T08:00:00Z"},
        {"title": "No text", "link": "https://wire.example/none", "date": "not a date"},
        {"title": "", "link": "https://wire.example/untitled", "summary": "Only a summary &amp; an ampersand."},
    ]
    for n in range(1, len(items) + 1):
        assert_same(rss(items[:n]))
    assert_same(rss(items, title="Caf&#233; &amp; Wire"))


def test_the_atom_feed_tidings_publishes_reads_the_same(tmp_path):
    from tidings.pipeline import run
    from tidings.publish.site import publish_site
    from tidings.store import Store

    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "wire.rss").write_text(rss([
        {"title": "Port Ellery approves tidal barrier", "link": "https://wire.example/barrier", "text": ARTICLE_A},
        {"title": "Comet visible this weekend", "link": "https://wire.example/comet", "text": ARTICLE_B}]))
    config = make_config(tmp_path, [{"url": str(feeds / "wire.rss"), "name": "Wire"}])
    store = Store(str(tmp_path / "t.db"))
    try:
        run(config, store, now=NOW, publish=False)
        stats = publish_site(store, tmp_path / "site")
    finally:
        store.close()
    body = (stats.path / "news" / "feed.atom").read_bytes()
    assert_same(body)
    assert len(outcome(body, True)[0]) == 2


# --- hand-written cases: accepted, and the same -----------------------------------------------------------------

ITEM = "<title>Barrier approved</title><link>https://wire.example/a</link>"
ACCEPTED = {
    "cdata and entities": rss_doc(
        "<item><title>AT&amp;T &amp;amp; Q&amp;A &lt;b&gt;bold&lt;/b&gt;</title><link>https://wire.example/a?x=1&amp;y=2"
        "</link><description><![CDATA[<p>Caf\u00e9 &amp; bar &copy; 2026 &#8217;q&#8217; AT&T R&D &foo; x < y</p>]]>"
        f"</description><content:encoded><![CDATA[<p>One</p><!--more--><p>Two <b>three</b><br/>four</p>{ARTICLE_A}"
        "<figure><img src=\"/i.png\" alt=\"i\"/><figcaption>Cap</figcaption></figure>]]></content:encoded></item>"),
    "escaped html description": rss_doc(
        f"<item>{ITEM}<description>&lt;p&gt;Escaped &amp;amp; &lt;a href=\"/x\"&gt;link&lt;/a&gt;&lt;/p&gt;"
        "</description></item>"),
    "relative links and guids": rss_doc(
        "<item><title>a</title><link>/relative/a</link><guid>/relative/a</guid></item>"
        "<item><title>b</title><guid isPermaLink=\"false\">item-17</guid></item>"
        "<item><title>c</title><guid>https://wire.example/c</guid></item>"
        "<item><title>d</title><guid isPermaLink=\"True\">https://wire.example/d</guid></item>"
        "<item><title>e</title><link>  https://wire.example/e  </link><link>http:///wire.example/e2</link></item>"),
    "xml:base on the root": rss_doc(
        "<item><title>a</title><link>a.html</link><guid>b.html</guid></item>", root=' xml:base="https://b.example/d/"'),
    "dates": rss_doc(
        "<item><title>a</title><pubDate>Fri, 13 Mar 2026 09:00:00 +0000</pubDate></item>"
        "<item><title>b</title><dc:date>2026-03-14T06:00:00+02:00</dc:date></item>"
        "<item><title>c</title><pubDate>yesterday-ish</pubDate></item>"
        "<item><title>d</title></item>"
        "<item><title>e</title><pubDate>13 Mar 2026 09:00 EST</pubDate><dcterms:modified>2026-03-16</dcterms:modified>"
        "</item><item><title>f</title><pubDate>Mon, 32 Mar 2026 00:00:00 GMT</pubDate></item>"),
    "authors": rss_doc(
        "<item><title>a</title><author>jane@wire.example (Jane Doe)</author></item>"
        "<item><title>b</title><dc:creator>Jane Doe</dc:creator><dc:creator>John Roe</dc:creator></item>"
        "<item><title>c</title><author>jane@wire.example</author><dc:creator>Jane</dc:creator></item>"),
    "empty titles and fields": rss_doc(
        "<item><title></title><description>Only text here, no title at all.</description></item>"
        "<item><title/><link>https://wire.example/only-link</link></item>"
        "<item><title>  </title><title>Second title wins</title><title>third</title></item>"),
    "extensions": rss_doc(
        f"<item>{ITEM}<category>News</category><comments>https://wire.example/c</comments>"
        "<wfw:commentRss>https://wire.example/c/feed</wfw:commentRss><slash:comments>3</slash:comments>"
        '<enclosure url="https://wire.example/a.mp3" length="1" type="audio/mpeg"/>'
        '<media:content url="https://wire.example/i.jpg"><media:title>Image</media:title></media:content>'
        '<atom:link rel="self" href="https://wire.example/self"/><source url="https://s.example/">Src</source>'
        '<x:thing xmlns:x="http://unknown.example/ns">v</x:thing></item>'),
    "several summaries, media descriptions and titles": rss_doc(
        "<item><title>a</title><description>One</description><description>Two, which is content</description>"
        "<description>Three</description></item>"
        "<item><description>First</description><media:description>A caption that is longer than the first"
        "</media:description><media:title>Media title</media:title></item>"
        '<item><media:title>Media first</media:title><title>Own title</title><media:content url="https://m.example/i">'
        "<media:title>Deeper</media:title><media:description>Deeper caption</media:description></media:content>"
        "<content:encoded>&lt;p&gt;The whole article, which is long enough to be chosen.&lt;/p&gt;</content:encoded>"
        "<media:description>After the content</media:description></item>"
        '<item><media:content url="https://m.example/j"><media:title>Only a media title</media:title></media:content>'
        "</item>"),
    "atom link rels": rss_doc(
        '<item><title>a</title><atom:link href="https://wire.example/alt"/><atom:link rel="enclosure" '
        'href="https://wire.example/e"/></item>'),
    "c1 controls and mojibake in plain text": rss_doc(
        "<item><title>&#147;Quoted&#148; \u00c3\u00a9t\u00c3\u00a9</title><link>https://wire.example/\u00c3\u00a9</link>"
        "</item>"),
    "rss 0.91": '<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><item><title>x</title>'
                '<link>https://old.example/x</link><description>d</description></item></channel></rss>',
    "rdf": '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
           'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
           '<channel rdf:about="https://p.example/"><title>Papers</title><link>https://p.example/</link>'
           '<items><rdf:Seq><rdf:li rdf:resource="https://p.example/1"/></rdf:Seq></items></channel>'
           '<item rdf:about="https://p.example/1"><title>P1</title><link>https://p.example/1</link>'
           '<dc:date>2026-03-14T06:00:00Z</dc:date><dc:creator>A. Author</dc:creator></item>'
           '<item rdf:about="urn:p2"><title>P2</title><description>d &lt;i&gt;x&lt;/i&gt;</description></item>'
           '</rdf:RDF>',
    "atom": atom_doc(
        '<entry><id>urn:e1</id><title type="html">A &amp;amp; B &lt;em&gt;c&lt;/em&gt;</title>'
        '<link rel="alternate" type="text/html" href="https://l.example/1"/><link rel="self" href="https://l.example/s"/>'
        "<published>2026-03-14T15:20:00Z</published><updated>2026-03-14T16:00:00Z</updated>"
        "<author><name>Ines</name><email>ines@l.example</email></author>"
        '<summary type="text">Short &lt;not markup&gt;</summary>'
        '<content type="html">&lt;p&gt;Long body &amp;amp; more words&lt;/p&gt;&lt;p&gt;Second paragraph&lt;/p&gt;'
        "</content></entry>"
        "<entry><id>https://l.example/2</id><title>Two</title><updated>2026-03-13T10:00:00Z</updated>"
        "<author><name>Only Name</name><uri>https://l.example/</uri></author></entry>"
        '<entry><id>tag:l.example,2026:3</id><title>Three</title><link href="/three"/><link href="/three-b"/>'
        "<author><email>e@l.example</email></author><summary>Plain summary only</summary></entry>"),
    "atom xhtml content": atom_doc(
        '<entry><id>urn:x1</id><title>X</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        '<p class="c">Hello <b>x</b> &amp; y</p><p>a<br/>b</p></div></content></entry>'
        '<entry><id>urn:x2</id><title>Y</title><summary type="xhtml"><xhtml:div '
        'xmlns:xhtml="http://www.w3.org/1999/xhtml"><xhtml:p>prefixed</xhtml:p></xhtml:div></summary></entry>'
        '<entry><id>urn:x3</id><title>Z</title><content type="xhtml">text <div xmlns="http://www.w3.org/1999/xhtml">'
        "<p>wrapped</p></div></content></entry>"),
    "atom xml:base": atom_doc(
        '<entry><id>a1</id><title>a</title><link href="a1.html"/><content type="html" xml:base="https://c.example/p/">'
        "&lt;p&gt;&lt;a href=\"x\"&gt;rel&lt;/a&gt;&lt;/p&gt;</content></entry>",
        root=' xml:base="https://l.example/blog/"'),
    "comments and processing instructions": '<?xml version="1.0"?><?xml-stylesheet href="s.xsl"?><!-- hello -->'
        '<rss version="2.0"><channel><title>W<!-- c --></title><item><title>a<?pi x?>b</title></item></channel></rss>',
    "mixed case element names": '<rss version="2.0"><channel><Title>W</Title><ITEM><Title>t</Title><PubDate>'
                                "Fri, 13 Mar 2026 09:00:00 +0000</PubDate><Link>https://w.example/t</Link></ITEM>"
                                "</channel></rss>",
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_ordinary_documents_are_read_by_the_fast_path_and_read_the_same(name):
    assert_same(ACCEPTED[name], fast=True)


# --- declined: feedparser reads them, as before ------------------------------------------------------------------

DECLINED = {
    "doctype": '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY w "Wire">]><rss version="2.0"><channel><title>&w;'
               "</title><item><title>a</title></item></channel></rss>",
    "doctype in a prolog comment": '<?xml version="1.0"?><!-- <!DOCTYPE rss> --><rss version="2.0"><channel>'
                                   "<item><title>a</title></item></channel></rss>",
    "billion laughs": '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">'
                      ']><rss version="2.0"><channel><item><title>&lol2;</title></item></channel></rss>',
    "external entity": '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                       '<rss version="2.0"><channel><item><title>&xxe;</title></item></channel></rss>',
    "malformed": '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>cut &',
    "undefined entity": '<rss version="2.0"><channel><item><title>&nbsp;x</title></item></channel></rss>',
    "unknown root": '<?xml version="1.0"?><opml version="2.0"><body><outline text="x"/></body></opml>',
    "html page": "<!DOCTYPE html><html><head><title>503</title></head><body><p>down</p></body></html>",
    "no entries": '<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title></channel></rss>',
    "xml 1.1": '<?xml version="1.1"?><rss version="2.0"><channel><item><title>a</title></item></channel></rss>',
    "script in content": rss_doc(f"<item>{ITEM}<description>&lt;p&gt;a&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;"
                                 "</description></item>"),
    "unknown default namespace": '<rss version="2.0"><channel><item xmlns="http://other.example/"><title>a</title>'
                                 "</item></channel></rss>",
    "image inside an item": rss_doc(f"<item>{ITEM}<image><title>img</title></image></item>"),
    "a base below the root only": rss_doc('<item xml:base="https://b.example/"><title>a</title><link>x</link></item>'),
    "structured author twice": atom_doc("<entry><id>1</id><title>a</title><author><name>A</name></author>"
                                        "<author><name>B</name></author></entry>"),
    "an iframe with content": rss_doc(f"<item>{ITEM}<description>&lt;p&gt;a&lt;iframe&gt;inner&lt;/iframe&gt;&lt;/p&gt;"
                                      "</description></item>"),
    "mojibake in markup": rss_doc(f"<item>{ITEM}<description>&lt;p&gt;\u00c3\u00a9&lt;/p&gt;</description></item>"),
    "summary and content of unclear length": rss_doc(
        f"<item>{ITEM}<description>&lt;p class=\"long-class\"&gt;abcdef&lt;/p&gt;</description>"
        "<content:encoded>&lt;p&gt;abcdefgh&lt;/p&gt;</content:encoded></item>"),
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_other_documents_are_declined_and_feedparser_reads_them_as_before(name):
    assert_same(DECLINED[name], fast=False)


def test_declined_documents_keep_their_errors_and_warnings():
    with pytest.raises(FeedError, match="not a well-formed feed"):
        parse_feed(DECLINED["malformed"].encode(), BASE)
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(DECLINED["unknown root"].encode(), BASE)
    with pytest.raises(FeedError, match="no entries"):
        parse_feed(DECLINED["no entries"].encode(), BASE)
    broken = rss_doc(f"<item>{ITEM}</item><item><title>cut &amp; kept</title></item>")[:-len("</channel></rss>")]
    entries, warning, _ = parse_feed(broken.encode(), BASE)
    assert len(entries) == 2 and warning.startswith("feed has errors")


def test_a_charset_warning_is_kept_on_the_fast_path():
    body = rss_doc("<item><title>Z\u00fcrich caf\u00e9</title><link>https://w.example/z</link></item>")
    body = body.replace('encoding="UTF-8"', 'encoding="utf-8"').encode("latin-1")
    assert accepted(to_utf8_xml(body, "text/xml; charset=utf-8")[0])
    fast = parse_feed(body, BASE, "", "text/xml; charset=utf-8")
    assert fast == parse_feed(body, BASE, "", "text/xml; charset=utf-8", fast=False)
    assert fast[1] and fast[0][0].title == "Zürich café"


# --- a seeded sweep over many combinations ---------------------------------------------------------------------

TEXTS = ["Plain", "", "AT&amp;T &amp; Q&amp;A", "Caf\u00e9 \u2019q\u2019", "\u00c3\u00a9", "&#147;x&#148;",
         "a &lt;b&gt;b&lt;/b&gt;", "&amp;copy; x", "&amp;foo; y", "<![CDATA[c <i>d</i>]]>", "\u00a0nb\u00a0",
         "1 &lt; 2"]
HTMLS = ["<p>Hello <b>world</b></p>", "<p>One</p><p>Two &amp; three</p>", "Just text", "<p>x<br/>y</p>",
         "<div class=\"c\" style=\"color:red\"><p>styled</p></div>", "<p>a</p><!-- c --><p>b</p>",
         "<p>AT&T &copy 1</p>",
         "<p>&#8217;q&#8217; &#x2014; &#150;</p>", "<ul><li>a<li>b</ul>", "<p>caf\u00e9</p>", "<script>x</script>",
         "<p>&foo; &notit; &notin x</p>", "<a href=\"/r\">rel</a> tail", "<iframe src=\"v\"></iframe><p>e</p>"]
DATES = ["Fri, 13 Mar 2026 09:00:00 +0000", "2026-03-14T06:00:00Z", "13 Mar 2026 09:00 EST", "nope", "", "2026-03-14"]
LINKS = ["https://a.example/x", "/rel", "rel", "https://a.example/?a=1&amp;b=2", "", "item-17", "javascript:x()"]
AUTHORS = ["j@a.example (Jane)", "Jane", "j@a.example", ""]
PERMALINK = ["", ' isPermaLink="false"']


def sweep_doc(r: random.Random) -> str:
    def html(h: str) -> str:
        return f"<![CDATA[{h}]]>" if r.random() < 0.5 else h.replace("&", "&amp;").replace("<", "&lt;")

    if r.random() < 0.7:
        items = []
        for _ in range(r.randrange(1, 5)):
            parts = [f"<title>{r.choice(TEXTS)}</title>" if r.random() < 0.9 else "",
                     f"<link>{r.choice(LINKS)}</link>" if r.random() < 0.8 else "",
                     f"<guid{r.choice(PERMALINK)}>{r.choice(LINKS)}</guid>" if r.random() < 0.5 else "",
                     f"<pubDate>{r.choice(DATES)}</pubDate>" if r.random() < 0.8 else "",
                     f"<dc:creator>{r.choice(AUTHORS)}</dc:creator>" if r.random() < 0.4 else "",
                     f"<description>{html(r.choice(HTMLS))}</description>" if r.random() < 0.7 else "",
                     f"<content:encoded>{html(r.choice(HTMLS) * 3)}</content:encoded>" if r.random() < 0.5 else "",
                     "<category>c</category>" if r.random() < 0.3 else ""]
            r.shuffle(parts)
            items.append("<item>" + "".join(parts) + "</item>")
        return rss_doc("".join(items), channel=f"<title>{r.choice(TEXTS)}</title>")
    entries = []
    for _ in range(r.randrange(1, 4)):
        kind = r.choice(["text", "html", "xhtml"])
        body = ('<div xmlns="http://www.w3.org/1999/xhtml"><p>x <b>y</b></p></div>' if kind == "xhtml"
                else html(r.choice(HTMLS)) if kind == "html" else r.choice(TEXTS))
        entries.append(f"<entry><id>{r.choice(LINKS)}</id><title>{r.choice(TEXTS)}</title>"
                       f'<link href="{r.choice(LINKS)}"/><updated>{r.choice(DATES)}</updated>'
                       f"<author><name>{r.choice(AUTHORS)}</name></author>"
                       f'<content type="{kind}">{body}</content></entry>')
    return atom_doc("".join(entries), root=r.choice(["", ' xml:base="https://b.example/x/"']))


def test_a_seeded_sweep_of_combinations_reads_the_same():
    r = random.Random(20260320)
    fast = 0
    for _ in range(300):
        doc = sweep_doc(r)
        assert_same(doc, fast=None)
        fast += accepted(doc.encode())
    assert fast > 100  # the sweep exercises the fast path, not only the fallback


# --- the assumptions the fast path makes about feedparser --------------------------------------------------------

def test_the_fast_path_relies_on_feedparser_tables_that_exist():
    assert xmlfeed._KNOWN_NS and {"dc_creator", "pubdate", "content_encoded"} <= xmlfeed._STARTS
    assert xmlfeed._KNOWN_NS["http://purl.org/dc/elements/1.1/"] == "dc"
    from feedparser.html import _cp1252
    from feedparser.sanitizer import _HTMLSanitizer

    assert dict(_cp1252) == xmlfeed._CP1252
    # Tags kept as they are must be ones the sanitiser keeps; those it drops must not be.
    acceptable = set(_HTMLSanitizer.acceptable_elements)
    assert xmlfeed._SAFE_TAGS.issubset(acceptable)
    assert not (xmlfeed._UNWRAPPED | xmlfeed._EMPTY_DROPPED) & acceptable


def test_untrusted_documents_never_reach_lxml_with_a_dtd():
    for name in ("doctype", "billion laughs", "external entity", "doctype in a prolog comment"):
        assert not xmlfeed._plain_prolog(DECLINED[name].encode())
