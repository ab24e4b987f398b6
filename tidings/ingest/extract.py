"""Article text from web pages (trafilatura), and full text for truncated feed entries."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lxml_html

from tidings.errors import TidingsError
from tidings.ingest.charset import decode
from tidings.model import Entry
from tidings.text import headline, plain_paragraphs, squash, strip_controls
from tidings.urls import web_url

# A page with less article text than this is not an article (an error page, a login wall, a home page).
MIN_ARTICLE_CHARS = 200

TRUNCATION_TAIL = 32  # characters at the end of a text that hold any truncation mark but a padded bracket
_TRUNCATION_MARKS = re.compile(r"(\[\s*(…|\.\.\.)\s*\]|…|\.\.\.|read more|continue reading|more »)\s*$", re.I)


class ExtractError(TidingsError):
    """No article could be taken from a page; the message is one line."""


def page_entry(body: bytes, url: str, publisher: str = "", *, content_type: str = "") -> Entry:
    """One item from an HTML page: its main text by trafilatura, its metadata from the page's head.

    `url` is where the page was read from; the page's own canonical link replaces it only as
    `_prefer_canonical` allows. `content_type` is the HTTP header, whose charset counts before the page's own.
    """
    # lxml, under trafilatura, refuses some control characters outright
    import trafilatura  # here, not above: most runs read feeds only, and it takes a while to import

    html_text = strip_controls(decode(body, content_type).text)
    doc = trafilatura.bare_extraction(html_text, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, favor_precision=True)
    text = strip_controls(doc.text) if doc is not None and doc.text else ""
    if len(text) < MIN_ARTICLE_CHARS:
        raise ExtractError(f"no article text found ({len(text)} characters)")
    meta = _head_metadata(html_text)
    title = squash(strip_controls(meta.get("og:title") or (doc.title or "") or meta.get("title", "")))
    lines = [squash(line) for line in text.splitlines()]
    if lines and lines[0] == title:
        lines = lines[1:]  # trafilatura repeats the headline as the first line
    text = plain_paragraphs("\n\n".join(lines))
    canonical = meta.get("canonical") or doc.url or ""
    url = _prefer_canonical(url, canonical)
    site = meta.get("og:site_name") or doc.sitename or _host(web_url(canonical, url) or url)
    return Entry(url=url, title=headline(title, text, url), text=text,
                 publisher=squash(strip_controls(publisher or site)),
                 published=_date(meta.get("article:published_time") or doc.date), guid=None,
                 author=squash(strip_controls(meta.get("author") or doc.author or "")) or None)


def is_truncated(entry: Entry, min_chars: int) -> bool:
    """Whether a feed entry carries only a teaser of its article."""
    if len(entry.text) < min_chars:
        return True
    # The marks end the text: searching its end is enough, unless that end may be the close of a bracket
    # padded by more spaces than the end holds.
    tail = entry.text.rstrip()
    return bool(_TRUNCATION_MARKS.search(tail if tail.endswith("]") else tail[-TRUNCATION_TAIL:]))


def with_full_text(entry: Entry, page: Entry) -> Entry:
    """The entry with its page's text (and canonical URL), keeping the feed's title, date and GUID."""
    # The feed's link stays known as the GUID, so the next read of the feed recognises the entry.
    return Entry(url=_prefer_canonical(entry.url, page.url), title=entry.title or page.title, text=page.text,
                 publisher=entry.publisher, published=entry.published or page.published,
                 guid=entry.guid or entry.url,
                 author=entry.author or page.author, truncated=False)


def _prefer_canonical(url: str, canonical: str) -> str:
    """A page's canonical link replaces the URL it was read from when it is on the same site, or when the page was
    read from a local file the user named; a page may not claim another site's article, and a canonical link
    that is not an http(s) URL is no link at all."""
    canonical = web_url(canonical, url)
    if not canonical:
        return url
    if url.startswith("file://") or _host(url) == _host(canonical):
        return canonical
    return url


def _head_metadata(html_text: str) -> dict[str, str]:
    try:
        root = lxml_html.fromstring(html_text)
    except (etree.ParserError, ValueError):
        return {}
    meta: dict[str, str] = {}
    for el in root.iter("meta"):
        key = el.get("property") or el.get("name")
        if key and el.get("content") and key.lower() not in meta:
            meta[key.lower()] = el.get("content").strip()
    for el in root.iter("link"):
        if "canonical" in (el.get("rel") or "").lower().split() and el.get("href"):
            meta.setdefault("canonical", el.get("href").strip())
    title = root.find(".//title")
    if title is not None and title.text:
        meta["title"] = title.text
    return meta


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
