"""The feeds a web page advertises in its head, so that a site's address can stand for its feed."""

from __future__ import annotations

from lxml import etree
from lxml import html as lxml_html

from tidings.ingest.charset import decode
from tidings.urls import web_url

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"})
MAX_BYTES = 256 * 1024  # a head is far shorter; a hostile page of any size costs no more than this to read


def feed_links(html: bytes, base_url: str, content_type: str = "") -> list[str]:
    """The absolute http(s) URLs of the feeds `html` links to with rel="alternate", once each, in page order.

    Relative links resolve against the page's <base href> if it is a web address, else against `base_url`.
    """
    root = _parse(decode(_head_bytes(html), content_type).text)
    # Only the head (lxml makes one for the <link>s that come before any content): the body holds what visitors
    # wrote too, such as comments, and they do not speak for the site.
    head = root.find("head") if root is not None else None
    if head is None:
        return []
    base = _base(head, base_url)
    found: dict[str, None] = {}  # an ordered set
    for link in head.iter("link"):
        if _is_feed_link(link):
            url = web_url(link.get("href"), base)
            if url:
                found.setdefault(url)
    return list(found)


def _head_bytes(html: bytes) -> bytes:
    """At most MAX_BYTES of a page, cut just after a ">" so that no character is cut in two (in UTF-8 and in the
    legacy multi-byte charsets, a ">" byte is never part of a longer character)."""
    if len(html) <= MAX_BYTES:
        return html
    head = html[:MAX_BYTES]
    if b"\0" in head[:4]:  # UTF-16 or UTF-32: a cut at a multiple of four keeps whole code units
        return head
    return head[:head.rfind(b">") + 1] or head


def _parse(text: str) -> etree._Element | None:
    # Handed to lxml as UTF-8 bytes with the encoding named, so a <meta charset> in the page cannot re-decode it.
    parser = lxml_html.HTMLParser(encoding="utf-8", no_network=True)
    try:
        return lxml_html.document_fromstring(text.encode("utf-8", errors="replace"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None  # nothing parseable: an empty or a binary "page"


def _is_feed_link(link: etree._Element) -> bool:
    rel = (link.get("rel") or "").lower().split()  # rel holds tokens: "alternate home" is an alternate
    kind = (link.get("type") or "").split(";", 1)[0].strip().lower()
    return "alternate" in rel and kind in FEED_TYPES


def _base(head: etree._Element, base_url: str) -> str:
    """The page's <base href>, resolved, if it is an http(s) URL; otherwise where the page was read from."""
    for base in head.iter("base"):
        href = web_url(base.get("href"), base_url)
        if href:
            return href
        break  # only the first <base> counts, as in browsers
    return base_url
