"""Feeds in: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed 1.x directly; OPML in and out."""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit
from xml.sax.saxutils import quoteattr

import feedparser
from lxml import etree

from tidings.errors import TidingsError
from tidings.model import Entry, Source
from tidings.text import html_to_text, plain_paragraphs, squash


class FeedError(TidingsError):
    """The bytes are not a usable feed; the message is one line."""


def sniff(body: bytes) -> str:
    """'json', 'xml', 'html' or 'unknown', from the first bytes of a document."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]:
        return "html"
    if head.startswith(b"<"):
        return "xml"
    return "unknown"


def parse_feed(body: bytes, base_url: str, publisher: str = "", content_type: str = ""
               ) -> tuple[list[Entry], str | None, str]:
    """Parse a feed. Returns (entries, warning, feed title).

    A feed with errors but usable entries (feedparser's `bozo`) gives its entries and a warning; a feed with no
    usable entries raises FeedError.
    """
    if sniff(body) == "json":
        return _parse_json_feed(body, base_url, publisher)
    # Relative links resolve against where the feed was read from; a server's "text/html" for a feed is common
    # and harmless, so the XML parser is told it has XML.
    # (feedparser mangles file:// bases, so local feeds' relative links are resolved here instead.)
    headers = {"content-type": content_type if "xml" in content_type else "application/xml"}
    if base_url.startswith(("http://", "https://")):
        headers["content-location"] = base_url
    parsed = feedparser.parse(body, response_headers=headers)
    version = parsed.get("version", "")
    title = squash(parsed.feed.get("title", ""))
    entries = [e for e in (_entry(raw, base_url, publisher or title) for raw in parsed.entries) if e is not None]
    warning = None
    if parsed.bozo:
        exc = parsed.get("bozo_exception")
        reason = squash(str(exc)) or type(exc).__name__
        if not entries:
            raise FeedError(f"not a well-formed feed: {reason}")
        warning = f"feed has errors ({reason}); kept {len(entries)} entries"
    if not version and not entries:
        raise FeedError("not a feed (no RSS, Atom or JSON Feed root element)")
    if not entries:
        raise FeedError("feed has no entries")
    return entries, warning, title


def _entry(raw, base_url: str, publisher: str) -> Entry | None:
    link = raw.get("link") or (raw.get("id") if "://" in raw.get("id", "") else "")
    title = squash(html_to_text(raw.get("title", "")))
    contents = [c.get("value", "") for c in raw.get("content", [])]
    best = max(contents, key=len) if contents else ""
    summary = raw.get("summary", "")
    text = html_to_text(best if len(best) >= len(summary) else summary)
    if not link and not title:
        return None
    when = raw.get("published_parsed") or raw.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(when), UTC) if when else None
    return Entry(url=urljoin(base_url, link) if link else base_url, title=title or _first_words(text), text=text,
                 publisher=publisher or _host(base_url), published=published, guid=raw.get("id") or None,
                 author=raw.get("author") or None)


def _parse_json_feed(body: bytes, base_url: str, publisher: str) -> tuple[list[Entry], str | None, str]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedError(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise FeedError("JSON, but not a JSON Feed (no jsonfeed.org 'version')")
    if not isinstance(doc.get("items"), list):
        raise FeedError("JSON Feed has no 'items' list")
    title = squash(str(doc.get("title", "")))
    base = doc.get("home_page_url") or base_url
    entries = []
    for raw in doc["items"]:
        if not isinstance(raw, dict):
            continue
        link = raw.get("url") or raw.get("external_url") or ""
        html_body = raw.get("content_html") or ""
        text = html_to_text(html_body) if html_body else plain_paragraphs(raw.get("content_text") or "")
        if not text:
            text = plain_paragraphs(raw.get("summary") or "")
        item_title = squash(str(raw.get("title") or "")) or _first_words(text)
        if not (link or item_title):
            continue
        authors = raw.get("authors") or ([raw["author"]] if isinstance(raw.get("author"), dict) else [])
        author = ", ".join(a.get("name", "") for a in authors if isinstance(a, dict)) or None
        entries.append(Entry(url=urljoin(base_url, link) if link else base_url, title=item_title, text=text,
                             publisher=publisher or title or _host(base), published=_iso_date(
                                 raw.get("date_published") or raw.get("date_modified")),
                             guid=str(raw["id"]) if raw.get("id") is not None else None, author=author))
    if not entries:
        raise FeedError("feed has no entries")
    return entries, None, title


def _iso_date(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def _first_words(text: str, n: int = 12) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


# --- OPML --------------------------------------------------------------------------------------------------

def read_opml(body: bytes, default_digests: Iterable[str] = ()) -> list[Source]:
    """Sources from an OPML subscription list. An outline's `category` names its digests."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"not valid OPML: {exc}") from None
    if root.tag != "opml":
        raise FeedError(f"not OPML: the root element is <{root.tag}>")
    out = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl") or (outline.get("htmlUrl") if outline.get("type") == "link" else None)
        if not url:
            continue
        cats = [c.strip().strip("/") for c in (outline.get("category") or "").split(",") if c.strip()]
        cred = outline.get("credibility")
        try:
            credibility = float(cred) if cred is not None else None
        except ValueError:
            credibility = None
        out.append(Source(url=url, name=outline.get("title") or outline.get("text") or "",
                          digests=tuple(cats) or tuple(default_digests), credibility=credibility))
    return out


def write_opml(sources: Iterable[Source], title: str = "tidings sources") -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             f"  <head><title>{_xml(title)}</title></head>", "  <body>"]
    for s in sources:
        attrs = {"type": "rss", "text": s.name or s.url, "title": s.name or s.url, "xmlUrl": s.url}
        if s.digests:
            attrs["category"] = ",".join(s.digests)
        if s.credibility is not None:
            attrs["credibility"] = f"{s.credibility:g}"
        lines.append("    <outline " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) + "/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
