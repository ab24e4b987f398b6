"""Source readers, chosen by a source's kind: a small protocol and a registry.

A reader turns the bytes fetched for a source into entries. The built-in kinds are `feed` (RSS, Atom, JSON Feed)
and `page` (one article from a web page); they register themselves here the way an add-on would register, say, a
newsletter mailbox or a paper listing. A source's kind comes from the config, or is learnt from its first read and
kept, so a feed that later answers with an HTML error page is an error, not a new article.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

from tidings.errors import TidingsError
from tidings.ingest.extract import page_entry
from tidings.ingest.feeds import FeedError, read_document, sniff
from tidings.ingest.fetch import Response
from tidings.model import Entry, Source

_FEED_SUFFIXES = {".rss", ".atom", ".xml", ".rdf", ".json", ".feed"}
_FEED_WORDS = {"feed", "rss", "atom", "feeds", "rss.xml", "atom.xml", "feed.xml", "index.xml"}


@dataclass(frozen=True)
class Reading:
    entries: tuple[Entry, ...]
    warning: str | None = None
    title: str = ""  # the feed's or the page's site name
    prints: tuple[str, ...] | None = None  # fingerprints of the raw entries, for readers that can skip them
    skipped: int = 0  # entries left out as unchanged since the last read


class Reader(Protocol):
    kind: str
    reads_pages: bool  # whether its fetches are page fetches, which robots.txt may forbid

    def read(self, response: Response, source: Source, seen: Collection[str] = frozenset()) -> Reading:
        """Entries from the bytes fetched for `source`; raise a TidingsError with a one-line reason. A reader may
        leave out the entries whose fingerprints (its own, from the last read) are in `seen`."""
        ...


_READERS: dict[str, Reader] = {}


def register(reader: Reader) -> Reader:
    _READERS[reader.kind] = reader
    return reader


def reader_for(kind: str) -> Reader:
    try:
        return _READERS[kind]
    except KeyError:
        raise TidingsError(f"no reader for sources of kind {kind!r} (known: {', '.join(kinds())})") from None


def kinds() -> list[str]:
    return sorted(_READERS)


def detect_kind(response: Response, location: str) -> str:
    """What a source is, judged from its first answer: a page if it is HTML and its address does not promise a
    feed (a feed URL answering HTML is a broken feed, not an article), else a feed."""
    kind = sniff(response.body)
    is_html = kind == "html" or ("html" in response.content_type and kind != "xml")
    return "page" if is_html and not looks_like_feed(location) else "feed"


def looks_like_feed(location: str) -> bool:
    """Whether a source's address promises a feed."""
    path = PurePosixPath(urlsplit(location).path if "://" in location else location)
    return path.suffix.lower() in _FEED_SUFFIXES or path.name.lower() in _FEED_WORDS


class FeedReader:
    kind = "feed"
    reads_pages = False

    def read(self, response: Response, source: Source, seen: Collection[str] = frozenset()) -> Reading:
        kind = sniff(response.body)
        if kind == "html" or ("html" in response.content_type and kind not in ("xml", "json")):
            raise FeedError(f"expected a feed, got an HTML page{page_title(response.body)}")
        doc = read_document(response.body, response.url, source.name, response.content_type, seen=seen)
        return Reading(tuple(doc.entries), doc.warning, doc.title, doc.prints, doc.skipped)


class PageReader:
    kind = "page"
    reads_pages = True

    def read(self, response: Response, source: Source, seen: Collection[str] = frozenset()) -> Reading:
        entry = page_entry(response.body, response.url, source.name, content_type=response.content_type)
        return Reading((entry,), None, entry.publisher)  # a page's site name stands for its publisher


def page_title(body: bytes) -> str:
    """` ('Title')` of an HTML body, to say which page came instead of a feed; "" without one."""
    m = re.search(rb"<title[^>]*>(.*?)</title>", body[:4096], re.I | re.S)
    if not m:
        return ""
    title = " ".join(m.group(1).decode("utf-8", "replace").split())[:80]
    return f" ({title!r})" if title else ""


register(FeedReader())
register(PageReader())
