"""Sources named on the command line: checked when they are added, so a typo fails now and not at the next run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from tidings.config import Config
from tidings.errors import SourceError
from tidings.model import FetchResult, Source
from tidings.store import Store
from tidings.urls import web_url


def location(text: str) -> str:
    """A source's address as stored: an http(s) URL as given, or an existing local file as an absolute path."""
    text = text.strip()
    if "://" in text:
        scheme = urlsplit(text).scheme.lower()
        if scheme == "file":
            return location(urlsplit(text).path)
        if not web_url(text):
            reason = f"unsupported URL scheme {scheme!r}" if scheme not in ("http", "https") else "no host"
            raise SourceError(f"{text}: {reason} (use an http or https URL, or a file path)")
        return text
    path = Path(text).expanduser()
    if not path.exists():
        raise SourceError(f"{text}: no such file (give a feed or page URL, or the path of a file that exists)")
    if not path.is_file():
        raise SourceError(f"{text}: not a regular file (give a feed or page URL, or a file's path)")
    return str(path.resolve())


def add_source(store: Store, config: Config, url: str, name: str = "", digests: tuple[str, ...] = (),
               credibility: float | None = None, now: datetime | None = None) -> Source:
    """Check and store a source named on the command line."""
    known = sorted(d.slug for d in config.digests) or sorted(d.slug for d in store.digests())
    for slug in digests:
        if slug not in known:
            defined = f"defined: {', '.join(known)}" if known else "none is defined; run 'tidings init'"
            raise SourceError(f"digest {slug!r} is not defined ({defined})")
    source = store.upsert_source(Source(url=location(url), name=name, digests=digests, credibility=credibility),
                                 now or datetime.now(UTC))
    if source.status == "gone" or source.consecutive_errors:
        # Adding it again says "read it": it is due at the next run, whatever happened before.
        store.reset_source(source.id)
        source = store.source(source.id) or source
    return source


def find_source(store: Store, ref: str) -> Source:
    """A stored source named by its id, its URL or its file path."""
    found = store.source(int(ref)) if ref.isdigit() else store.source(ref)
    if found is None and "://" not in ref:
        found = store.source(str(Path(ref).expanduser().resolve()))
    if found is None:
        raise SourceError(f"no source {ref!r}; 'tidings sources list' shows their ids and URLs")
    return found


def remove_source(store: Store, config: Config, ref: str) -> tuple[Source, bool]:
    """Forget a source named by id, URL or path. Returns it, and whether the config still lists it (then the
    next run brings it back)."""
    found = find_source(store, ref)
    store.remove_source(found.url)
    return found, any(s.url == found.url for s in config.sources)


def import_sources(store: Store, config: Config, sources: list[Source],
                   now: datetime | None = None) -> tuple[list[Source], list[str]]:
    """Add sources read from a subscription list. An entry that could not be added is skipped with a one-line
    reason: the same checks as `add_source` (a `javascript:` or `ftp:` link in one is never stored)."""
    added, skipped = [], []
    for s in sources:
        try:
            added.append(add_source(store, config, s.url, s.name, s.digests, s.credibility, now))
        except SourceError as exc:
            skipped.append(f"{s.url}: {exc}; skipped")
    return added, skipped


def check_source(config: Config, ref: str) -> FetchResult:
    """Read one source as a run would, without storing anything: a URL, a path, or the id of a stored source."""
    from tidings.ingest import read_source
    from tidings.pipeline import opened

    if ref.isdigit():
        with opened(config) as store:
            found = find_source(store, ref)
        return read_source(Source(url=found.url, name=found.name, id=found.id), config.settings)
    return read_source(Source(url=location(ref)), config.settings)
