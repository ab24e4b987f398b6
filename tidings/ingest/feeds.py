"""Feeds in: RSS 0.9x/1.0/2.0 and Atom through feedparser (ordinary ones through lxml, to the same result), JSON
Feed 1.x directly; OPML in and out."""

from __future__ import annotations

import calendar
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import blake2b
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

import feedparser
from lxml import etree

from tidings.errors import TidingsError
from tidings.ingest.charset import decode, to_utf8_xml
from tidings.ingest.xmlfeed import read_feed
from tidings.model import Entry, Source
from tidings.text import headline, html_to_text, plain_paragraphs, squash, strip_controls
from tidings.urls import web_url


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


@dataclass(frozen=True)
class FeedDocument:
    """What one feed document gave: its entries (without those left out as unchanged), a warning, its title, and
    the fingerprints of all its raw entries, to leave out next time those still unchanged."""

    entries: list[Entry]
    warning: str | None
    title: str
    prints: tuple[str, ...]
    skipped: int = 0


def parse_feed(body: bytes, base_url: str, publisher: str = "", content_type: str = "", *,
               fast: bool = True) -> tuple[list[Entry], str | None, str]:
    """Parse a feed. Returns (entries, warning, feed title); see `read_document`."""
    doc = read_document(body, base_url, publisher, content_type, fast=fast)
    return doc.entries, doc.warning, doc.title


def read_document(body: bytes, base_url: str, publisher: str = "", content_type: str = "", *,
                  seen: Collection[str] = frozenset(), fast: bool = True) -> FeedDocument:
    """Parse a feed.

    A feed with errors but usable entries (feedparser's `bozo`) gives its entries and a warning; a feed with no
    usable entries raises FeedError. An entry keeps a link only if it is an absolute http(s) URL (relative ones
    resolve against an http(s) `base_url`, and to nothing in a local file); without one its url is "" and its
    GUID or content is what identifies it.

    A raw entry whose fingerprint is in `seen` (the prints of the source's last stored read) is left out: it was
    stored then, exactly as it is now. Most of a feed's entries are, at every read after the first.

    An ordinary RSS or Atom document is read by `xmlfeed.read_feed` (lxml), which gives what feedparser would;
    anything else, or everything with `fast=False`, is read by feedparser.
    """
    if sniff(body) == "json":
        return _parse_json_feed(body, base_url, publisher, content_type, seen)
    # The bytes are decoded here, where a wrong or hostile charset label is caught, and feedparser gets UTF-8 that
    # says so in its declaration and its header. A server's "text/html" for a feed is common and harmless, so the
    # XML parser is told it has XML. feedparser is not given the feed's address: it would resolve GUIDs against it
    # too, turning an id like "item-17" into a link and changing the id; links are resolved in `_entry` instead.
    utf8, charset_warning = to_utf8_xml(body, content_type)
    read = read_feed(utf8, seen, (base_url, publisher)) if fast else None
    if read is None:
        parsed = feedparser.parse(utf8, response_headers={"content-type": "application/xml; charset=utf-8"})
    else:  # in the shape of feedparser's result; the fast path reads only well-formed documents
        parsed = feedparser.FeedParserDict(bozo=False, version=read.version, feed={"title": read.title},
                                           entries=read.entries)
    version = parsed.get("version", "")
    title = squash(strip_controls(parsed.feed.get("title", "")))
    if read is None:
        fresh, prints = _unseen(parsed.entries, seen, (base_url, publisher, title))
        skipped = len(parsed.entries) - len(fresh)
    else:  # the fast path left out the unchanged entries before reading them
        fresh, prints, skipped = read.entries, read.prints, read.skipped
    entries = [e for e in (_entry(raw, base_url, publisher or title) for raw in fresh) if e is not None]
    bozo_warning = None
    if parsed.bozo:
        exc = parsed.get("bozo_exception")
        reason = squash(strip_controls(str(exc))) or type(exc).__name__
        if not entries and not skipped:
            raise FeedError(f"not a well-formed feed: {reason}")
        bozo_warning = f"feed has errors ({reason}); kept {len(entries) + skipped} entries"
    if not version and not entries and not skipped:
        raise FeedError("not a feed (no RSS, Atom or JSON Feed root element)")
    if not entries and not skipped:
        raise FeedError("feed has no entries")
    return FeedDocument(entries, _joined(charset_warning, bozo_warning), title, prints, skipped)


def _unseen(raws: list, seen: Collection[str], context: tuple[str, ...]) -> tuple[list, tuple[str, ...]]:
    """The raw entries not among those `seen`, and the fingerprints of all of them.

    An entry's fingerprint covers everything its Entry is made from: the raw entry and the feed's `context`
    (address, publisher, title). Nothing is left out when two raw entries
    share an id: telling them apart (`tidy`) needs all of them."""
    salt = repr(context).encode()
    prints = tuple(blake2b(salt + repr(raw).encode(), digest_size=10).hexdigest() for raw in raws)
    if not seen:
        return list(raws), prints
    ids = [i for i in (raw.get("id") for raw in raws if isinstance(raw, dict)) if i]
    if len(ids) != len(set(map(repr, ids))):
        return list(raws), prints
    return [raw for raw, p in zip(raws, prints, strict=True) if p not in seen], prints


def _joined(*warnings: str | None) -> str | None:
    return "; ".join(w for w in warnings if w) or None


def _entry(raw, base_url: str, publisher: str) -> Entry | None:
    # feedparser gives `link` from <link>, Atom's alternate link, or the GUID when there is no link. A GUID is an
    # identifier first: it is a link only if it is itself an absolute web address, never resolved like a path.
    from_guid = raw.get("guidislink") and raw.get("link") == raw.get("id")
    link = web_url(raw.get("link"), "" if from_guid else base_url) or web_url(raw.get("id"))
    contents = [c.get("value", "") for c in raw.get("content", [])]
    best = max(contents, key=len) if contents else ""
    summary = raw.get("summary", "")
    text = html_to_text(best if len(best) >= len(summary) else summary)
    # Read as a plain dict: feedparser's own lookup warns when `updated_parsed` is missing, and maps it.
    when = raw.get("published_parsed") or dict.get(raw, "updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(when), UTC) if when else None
    return _make_entry(link, html_to_text(raw.get("title", "")), text, publisher or _host(base_url), published,
                       raw.get("id"), raw.get("author"),
                       _scalar(raw.get("published") or dict.get(raw, "updated")))


def _make_entry(link: str, title: str, text: str, publisher: str, published: datetime | None,
                guid: object, author: object, written_date: str = "") -> Entry | None:
    """An entry from what a feed gave, every field free of control characters; None when there is nothing to
    show (no title, no text and no link). An untitled entry is named by its first words or its link; one whose
    date could not be read says so in its note, since its date becomes the time tidings first saw it."""
    title = headline(title, text, link)
    if not title:
        return None
    guid = strip_controls(_scalar(guid)).strip()
    written = squash(strip_controls(written_date))[:40]
    note = f"date {written!r} not understood; the time it was first seen is used" if written and not published \
        else None
    return Entry(url=link, title=title, text=plain_paragraphs(text), publisher=squash(strip_controls(publisher)),
                 published=published, guid=guid or None, author=squash(strip_controls(_scalar(author))) or None,
                 error=note)


def _parse_json_feed(body: bytes, base_url: str, publisher: str, content_type: str, seen: Collection[str]
                     ) -> FeedDocument:
    decoded = decode(body, content_type)
    try:
        doc = json.loads(decoded.text)
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"not valid JSON: {squash(str(exc))}") from None
    if not isinstance(doc, dict) or not _text(doc.get("version")).startswith("https://jsonfeed.org/version/"):
        raise FeedError("JSON, but not a JSON Feed (no jsonfeed.org 'version')")
    if not isinstance(doc.get("items"), list):
        raise FeedError("JSON Feed has no 'items' list")
    title = squash(strip_controls(_text(doc.get("title"))))
    # Hand-written JSON puts anything anywhere: a field of the wrong type counts as absent.
    home = web_url(_text(doc.get("home_page_url")), base_url)
    entries = []
    fresh, prints = _unseen(doc["items"], seen, (base_url, publisher, title, home))
    for raw in fresh:
        if not isinstance(raw, dict):
            continue
        link = web_url(_text(raw.get("url")), base_url) or web_url(_text(raw.get("external_url")), base_url)
        html_body = _text(raw.get("content_html"))
        text = html_to_text(html_body) if html_body else plain_paragraphs(_text(raw.get("content_text")))
        if not text:
            text = plain_paragraphs(_text(raw.get("summary")))
        authors = raw.get("authors") if isinstance(raw.get("authors"), list) else (
            [raw["author"]] if isinstance(raw.get("author"), dict) else [])
        author = ", ".join(n for n in (squash(_text(a.get("name"))) for a in authors if isinstance(a, dict)) if n)
        entry = _make_entry(link, _text(raw.get("title")), text, publisher or title or _host(home or base_url),
                            _iso_date(raw.get("date_published") or raw.get("date_modified")),
                            raw.get("id"), author, _text(raw.get("date_published") or raw.get("date_modified")))
        if entry is not None:
            entries.append(entry)
    skipped = len(doc["items"]) - len(fresh)
    if not entries and not skipped:
        raise FeedError("feed has no entries")
    return FeedDocument(entries, decoded.warning, title, prints, skipped)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _scalar(value: object) -> str:
    """A string or a number as text (JSON Feed ids are sometimes numbers); anything else as nothing."""
    if isinstance(value, bool):
        return ""
    return str(value) if isinstance(value, str | int | float) else ""


def _iso_date(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


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
        attrs = {"type": "rss", "text": s.label or s.url, "title": s.label or s.url, "xmlUrl": s.url}
        if s.digests:
            attrs["category"] = ",".join(s.digests)
        if s.credibility is not None:
            attrs["credibility"] = f"{s.credibility:g}"
        lines.append("    <outline " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) + "/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
