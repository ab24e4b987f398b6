"""Ingest: fetch a source, parse it as a feed or a page, and complete truncated entries from their pages."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import httpx

from tidings.config import Settings
from tidings.ingest.extract import ExtractError, is_truncated, page_entry, with_full_text
from tidings.ingest.feeds import FeedError, parse_feed, sniff
from tidings.ingest.fetch import FetchError, FetchPolicy, fetch
from tidings.model import Entry, FetchResult, Source
from tidings.urls import web_url

_FEED_SUFFIXES = {".rss", ".atom", ".xml", ".rdf", ".json", ".feed"}
_FEED_WORDS = {"feed", "rss", "atom", "feeds", "rss.xml", "atom.xml", "feed.xml", "index.xml"}


def policy_of(settings: Settings) -> FetchPolicy:
    return FetchPolicy(timeout=settings.fetch_timeout, max_bytes=int(settings.max_body_mb * 2**20),
                       allow_private=settings.allow_private_networks)


def looks_like_feed(location: str) -> bool:
    """Whether a source's address promises a feed, so that an HTML answer is an error and not an article."""
    path = PurePosixPath(urlsplit(location).path if "://" in location else location)
    return path.suffix.lower() in _FEED_SUFFIXES or path.name.lower() in _FEED_WORDS


def read_source(source: Source, settings: Settings, cache: tuple[str | None, str | None, str | None] = (None,) * 3,
                client: httpx.Client | None = None, known: Callable[[Entry], bool] | None = None) -> FetchResult:
    """Fetch and parse one source. Never raises for bad input: problems come back as status and error."""
    content_hash, etag, last_modified = cache
    try:
        # The source itself was named by the user, so it alone may be a local file.
        resp = fetch(source.url, settings.fetch_timeout, settings.user_agent, etag, last_modified, client,
                     policy=policy_of(settings),
                     allow_local=True)
    except FetchError as exc:
        return FetchResult(source, status="error", error=str(exc))
    if resp.not_modified:
        return FetchResult(source, unchanged=True, content_hash=content_hash)
    body_hash = hashlib.sha256(resp.body).hexdigest()
    if body_hash == content_hash:
        return FetchResult(source, unchanged=True, content_hash=body_hash)
    if not resp.body.strip():
        return FetchResult(source, status="error", error=f"{source.url}: empty response")
    kind = sniff(resp.body)
    warning = None
    try:
        if kind == "html" or "html" in resp.content_type and kind != "xml":
            if looks_like_feed(source.url):
                return FetchResult(source, status="error",
                                   error=f"{source.url}: expected a feed, got an HTML page{_page_title(resp.body)}")
            entries = [page_entry(resp.body, resp.url, source.name)]
            title = entries[0].publisher  # a page's site name stands for its publisher
        else:
            entries, warning, title = parse_feed(resp.body, resp.url, source.name, resp.content_type)
    except (FeedError, ExtractError) as exc:
        return FetchResult(source, status="error", error=f"{source.url}: {exc}")
    if settings.fetch_full_text:
        entries = [_complete(e, settings, client, known) for e in entries]
    return FetchResult(source, entries=tuple(entries), status="warning" if warning else "ok",
                       error=f"{source.url}: {warning}" if warning else None, content_hash=body_hash,
                       etag=resp.etag, last_modified=resp.last_modified, title=title)


def _complete(entry: Entry, settings: Settings, client: httpx.Client | None,
              known: Callable[[Entry], bool] | None) -> Entry:
    """An entry with its full text from its page when the feed gave only a teaser and the page can be read.

    A teaser of an item already stored is not fetched again; it is marked truncated so it never replaces the
    stored full text. The page is fetched only over http(s): a feed's link never makes tidings read a local file.
    An entry without a web link keeps what the feed gave, since there is nowhere to read more.
    """
    if not is_truncated(entry, settings.full_text_min_chars):
        return entry
    link = web_url(entry.url)
    if not link:
        return entry
    if known and known(entry):
        return Entry(**{**entry.__dict__, "truncated": True})
    try:
        resp = fetch(link, settings.fetch_timeout, settings.user_agent, client=client, allow_local=False,
                     policy=policy_of(settings))
        page = page_entry(resp.body, resp.url, entry.publisher)
    except (FetchError, ExtractError) as exc:
        return Entry(**{**entry.__dict__, "truncated": True, "error": f"full text unavailable: {exc}"})
    if len(page.text) <= len(entry.text):
        return entry
    return with_full_text(entry, page)


def _page_title(body: bytes) -> str:
    import re

    m = re.search(rb"<title[^>]*>(.*?)</title>", body[:4096], re.I | re.S)
    if not m:
        return ""
    title = " ".join(m.group(1).decode("utf-8", "replace").split())[:80]
    return f" ({title!r})" if title else ""
