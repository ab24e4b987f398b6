"""Ingest: fetch a source, read it with the reader for its kind, and complete truncated entries from their pages."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tidings.config import Settings
from tidings.errors import TidingsError
from tidings.ingest.extract import ExtractError, is_truncated, page_entry, with_full_text
from tidings.ingest.fetch import FetchError, FetchPolicy, fetch, is_local
from tidings.ingest.politeness import HostGate
from tidings.ingest.readers import detect_kind, reader_for
from tidings.ingest.robots import RobotsCache
from tidings.ingest.tidy import tidy
from tidings.model import Entry, FetchResult, Source
from tidings.urls import web_url

if TYPE_CHECKING:
    import httpx

__all__ = ["Session", "complete_teasers", "policy_of", "read_source", "teasers_of", "unchanged_file"]

ROBOTS_MAX_BYTES = 512 * 1024


def policy_of(settings: Settings) -> FetchPolicy:
    return FetchPolicy(timeout=settings.fetch_timeout, max_bytes=int(settings.max_body_mb * 2**20),
                       allow_private=settings.allow_private_networks)


@dataclass
class Session:
    """What the reads of one run share: the HTTP client, the politeness gate per host and robots.txt answers."""

    settings: Settings
    client: httpx.Client | None = None
    gate: HostGate | None = None
    robots: RobotsCache | None = None

    def __post_init__(self) -> None:
        if self.robots is None and self.settings.respect_robots:
            self.robots = RobotsCache(self.robots_txt, self.settings.user_agent)
        self._lock = threading.Lock()
        self._owns_client = False

    @classmethod
    @contextmanager
    def open(cls, settings: Settings) -> Iterator[Session]:
        """A session whose HTTP client is made at its first request over the network, and closed at the end."""
        session = cls(settings, None, HostGate(settings.host_connections, settings.host_delay))
        try:
            yield session
        finally:
            session.close()

    def close(self) -> None:
        """Close the HTTP client, if this session made one."""
        with self._lock:
            if self._owns_client and self.client is not None:
                self.client.close()
                self.client, self._owns_client = None, False

    def _client(self) -> httpx.Client:
        with self._lock:
            if self.client is None:
                import httpx

                self.client, self._owns_client = httpx.Client(timeout=self.settings.fetch_timeout), True
            return self.client

    def get(self, location: str, cache: tuple[str | None, str | None] = (None, None), *, allow_local: bool = False,
            deadline: float | None = None):
        client = None if allow_local and is_local(location) else self._client()
        return fetch(location, self.settings.fetch_timeout, self.settings.user_agent, cache[0], cache[1],
                     client, allow_local=allow_local, policy=policy_of(self.settings), gate=self.gate,
                     deadline=deadline)

    def robots_txt(self, url: str) -> tuple[int, bytes]:
        policy = replace(policy_of(self.settings), max_bytes=ROBOTS_MAX_BYTES)
        try:
            resp = fetch(url, self.settings.fetch_timeout, self.settings.user_agent, client=self._client(),
                         policy=policy, gate=self.gate)
        except FetchError as exc:
            if exc.status is None:
                raise
            return exc.status, b""
        return 200, resp.body

    def may_read_page(self, url: str) -> bool:
        return self.robots is None or is_local(url) or self.robots.allowed(url)


def read_source(source: Source, settings: Settings, cache: tuple[str | None, str | None, str | None] = (None,) * 3,
                client: httpx.Client | None = None, known: Callable[[Entry], bool] | None = None,
                session: Session | None = None, now: datetime | None = None,
                seen: Collection[str] = frozenset(), complete: bool = True) -> FetchResult:
    """Fetch one source and read it with the reader for its kind. Never raises for bad input: problems come back
    as status and error. The source and the pages of its teasers share one deadline
    (`settings.source_deadline`); with `complete=False` the teasers are left as they are. Entries whose
    fingerprints are in `seen` (from the last stored read) are left out, unchanged since."""
    if session is None:
        session = Session(settings, client)
        try:
            return read_source(source, settings, cache, known=known, session=session, now=now, seen=seen,
                               complete=complete)
        finally:
            session.close()
    deadline = time.monotonic() + settings.source_deadline
    content_hash, etag, last_modified = cache
    if source.kind and reader_for(source.kind).reads_pages and not session.may_read_page(source.url):
        return _refused_by_robots(source)
    try:
        # The source itself was named by the user, so it alone may be a local file.
        resp = session.get(source.url, (etag, last_modified), allow_local=True, deadline=deadline)
    except FetchError as exc:
        return FetchResult(source, status="error", error=str(exc), http_status=exc.status,
                           retry_after=exc.retry_after)
    if resp.not_modified:
        return FetchResult(source, unchanged=True, content_hash=content_hash)
    body_hash = hashlib.sha256(resp.body).hexdigest()
    if body_hash == content_hash:
        return FetchResult(source, unchanged=True, content_hash=body_hash)
    if not resp.body.strip():
        return FetchResult(source, status="error", error=f"{source.url}: empty response")
    kind = source.kind or detect_kind(resp, source.url)
    reader = reader_for(kind)
    if not source.kind and reader.reads_pages and not session.may_read_page(source.url):
        return _refused_by_robots(source)
    try:
        reading = reader.read(resp, source, seen)
    except TidingsError as exc:
        return FetchResult(source, status="error", error=f"{source.url}: {exc}", kind=kind)
    entries, notes = tidy(list(reading.entries), now or datetime.now(UTC))
    warnings = [reading.warning] if reading.warning else []
    warnings.extend(notes)
    warning = "; ".join(warnings) or None
    result = FetchResult(source, entries=tuple(entries), status="warning" if warning else "ok",
                         error=f"{source.url}: {warning}" if warning else None, content_hash=body_hash,
                         etag=resp.etag, last_modified=resp.last_modified, title=reading.title, kind=kind,
                         prints=reading.prints, skipped=reading.skipped)
    return complete_teasers(result, session, known, deadline) if settings.fetch_full_text and complete else result


def complete_teasers(result: FetchResult, session: Session, known: Callable[[Entry], bool] | None = None,
                     deadline: float | None = None, teasers: Collection[int] | None = None) -> FetchResult:
    """The read with each teaser's full text from its page, where it can be had (see `_complete`). `teasers`,
    when known already (`teasers_of`), says which entries are teasers."""
    if not result.entries:
        return result
    deadline = time.monotonic() + session.settings.source_deadline if deadline is None else deadline
    entries = tuple(_complete(e, session, known, deadline) if teasers is None or n in teasers else e
                    for n, e in enumerate(result.entries))
    skipped = sum(1 for e in entries if e.error and "deadline passed" in e.error)
    if not skipped:
        return replace(result, entries=entries)
    note = (f"{skipped} teasers kept without their full text: the source took longer than "
            f"{session.settings.source_deadline:g}s")
    error = f"{result.error}; {note}" if result.error else f"{result.source.url}: {note}"
    return replace(result, entries=entries, status="warning", error=error)


def teasers_of(result: FetchResult, settings: Settings) -> frozenset[int]:
    """The positions of the read's entries that carry only a teaser of their article."""
    return frozenset(n for n, e in enumerate(result.entries) if is_truncated(e, settings.full_text_min_chars))


def unchanged_file(source: Source, settings: Settings, content_hash: str | None) -> bool:
    """Whether a local source's file holds what it held at its last read (so there is nothing to parse)."""
    if content_hash is None:
        return False
    try:
        resp = fetch(source.url, allow_local=True, policy=policy_of(settings))
    except FetchError:
        return False  # its read says what is wrong
    return hashlib.sha256(resp.body).hexdigest() == content_hash


_LATE = "full text not read: the source's deadline passed"


def _refused_by_robots(source: Source) -> FetchResult:
    return FetchResult(source, status="error", error=f"{source.url}: robots.txt of its site does not allow reading "
                                                     "it (set [settings] respect_robots = false to read it anyway)")


def _complete(entry: Entry, session: Session, known: Callable[[Entry], bool] | None, deadline: float) -> Entry:
    """An entry with its full text from its page when the feed gave only a teaser and the page can be read.

    A teaser of an item already stored is not fetched again; it is marked truncated so it never replaces the
    stored full text. The page is fetched only over http(s): a feed's link never makes tidings read a local file.
    An entry without a web link keeps what the feed gave, since there is nowhere to read more; so does one whose
    page robots.txt forbids, or whose source has used up its time.
    """
    if not is_truncated(entry, session.settings.full_text_min_chars):
        return entry
    link = web_url(entry.url)
    if not link:
        return entry
    if known and known(entry):
        return replace(entry, truncated=True)
    if time.monotonic() >= deadline:
        return replace(entry, truncated=True, error=_LATE)
    if not session.may_read_page(link):
        return replace(entry, truncated=True, error="full text not read: robots.txt of its site does not allow it")
    try:
        resp = session.get(link, deadline=deadline)
        page = page_entry(resp.body, resp.url, entry.publisher, content_type=resp.content_type)
    except (FetchError, ExtractError) as exc:
        return replace(entry, truncated=True, error=f"full text unavailable: {exc}")
    if len(page.text) <= len(entry.text):
        return entry
    return with_full_text(entry, page)
