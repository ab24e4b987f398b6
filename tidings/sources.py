"""Sources named on the command line: checked when they are added, so a typo fails now and not at the next run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from tidings.config import Config
from tidings.errors import SourceError
from tidings.ingest.fetch import is_local
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
        if any(c.isspace() for c in text):
            raise SourceError(f"{text!r}: a URL has no spaces (check it for a typo, or write a space as %20)")
        return text
    path = Path(text).expanduser()
    if not path.exists():
        raise SourceError(f"{text}: no such file (give a feed or page URL, or the path of a file that exists)")
    if not path.is_file():
        raise SourceError(f"{text}: not a regular file (give a feed or page URL, or a file's path)")
    return str(path.resolve())


@dataclass(frozen=True)
class Added:
    source: Source
    note: str = ""  # what tidings found when it looked at the address, in one sentence


def check_digests(store: Store, config: Config, digests: Sequence[str]) -> None:
    """Every slug names a digest of the config (or of the store, without a config)."""
    known = sorted(d.slug for d in config.digests) or sorted(d.slug for d in store.digests())
    for slug in digests:
        if slug not in known:
            defined = f"defined: {', '.join(known)}" if known else "none is defined; run 'tidings init'"
            raise SourceError(f"digest {slug!r} is not defined ({defined})")


def add_source(store: Store, config: Config, url: str, name: str = "", digests: tuple[str, ...] = (),
               credibility: float | None = None, now: datetime | None = None, kind: str = "",
               discover: bool = True) -> Added:
    """Check and store a source named on the command line.

    With `discover`, a web address is read once to learn what it is: a web page that links its feed
    (`<link rel="alternate">`) is replaced by that feed, and a page without one is read as a single article.
    An address that cannot be read now is still added, with a note saying so; `kind` skips the look.
    """
    check_digests(store, config, digests)
    if kind:
        from tidings.ingest.readers import kinds

        if kind not in kinds():
            raise SourceError(f"kind must be one of {', '.join(kinds())}, got {kind!r}")
    address, note = location(url), ""
    if discover and not kind and web_url(address):
        address, kind, note = _look(address, config)
    elif not web_url(address):
        _check_local(address)
    known_before = store.source(address)
    source = _store(store, Source(url=address, name=name, digests=digests, credibility=credibility, kind=kind),
                    now or datetime.now(UTC))
    if known_before is not None:
        note = " ".join(filter(None, (note, f"{address} was already source {source.id}; kept, with what this "
                                            "command gives it")))
    return Added(source, note)


def _check_local(path: str) -> None:
    """A local file that cannot be a feed or a page fails now, not at every run: an empty one, or binary data
    (NULs left after decoding it as a run would: UTF-16 and UTF-32 text has NUL bytes, but not once decoded)."""
    from tidings.ingest.charset import decode

    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not head.strip():
        raise SourceError(f"{path}: an empty file (give a feed or a web page saved as a file)")
    if b"\0" in head and "\0" in decode(head[:len(head) - len(head) % 4]).text:  # (no wide character cut short)
        raise SourceError(f"{path}: binary data, not a feed or a web page")


def _look(url: str, config: Config) -> tuple[str, str, str]:
    """(address, kind, note) for a web address: its feed if it is a page that links one."""
    from tidings.ingest import Session
    from tidings.ingest.discover import feed_links
    from tidings.ingest.fetch import FetchError, RefusedAddress
    from tidings.ingest.readers import detect_kind

    session = Session(config.settings)
    try:
        resp = session.get(url)
    except RefusedAddress as exc:
        raise SourceError(str(exc)) from None  # no later run may read it either
    except FetchError as exc:
        if exc.status in (404, 410):  # no such page there: most likely a typo
            raise SourceError(f"{exc}: check the address (or add it as it is with --kind feed or --kind "
                              "page)") from None
        return url, "", f"could not read it now ({exc}); added anyway, and the next run tries again"
    finally:
        session.close()
    if detect_kind(resp, url) != "page":
        return url, "feed", ""
    feeds = feed_links(resp.body, resp.url, resp.content_type)
    if feeds:
        return feeds[0], "feed", (f"{url} is a web page; added the feed it links, {feeds[0]} (add the page with "
                                  "--kind page to read the page itself)")
    return url, "page", f"{url} is a web page that links no feed; it is read as one article"


def _store(store: Store, source: Source, now: datetime) -> Source:
    source = store.upsert_source(source, now)
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


def import_sources(store: Store, config: Config, sources: list[Source], now: datetime | None = None,
                   local_files: bool = False) -> tuple[list[Source], list[str]]:
    """Add sources read from a subscription list. An entry that could not be added is skipped with a one-line
    reason: the same checks as `add_source` (a `javascript:` or `ftp:` link in one is never stored). A local
    file path is imported only with `local_files` (the list is the user's own)."""
    added: dict[int, Source] = {}  # by id: an address listed twice is one source
    skipped = []
    for s in sources:
        if not local_files and is_local(s.url):
            # Someone else's list must not make a run read this machine's files (and publish them).
            skipped.append(f"{s.url}: a local file; import a list's local files with --local, or add this one "
                           "with 'tidings sources add PATH'; skipped")
            continue
        try:
            # A subscription list names feeds: nothing to discover, and no request per entry.
            source = add_source(store, config, s.url, s.name, s.digests, s.credibility, now, discover=False).source
        except SourceError as exc:
            skipped.append(f"{exc}; skipped" if str(exc).startswith(s.url) else f"{s.url}: {exc}; skipped")
            continue
        added[source.id] = source
    return list(added.values()), skipped


def check_source(config: Config, ref: str) -> FetchResult:
    """Read one source as a run would, without storing anything: a URL, a path, or the id of a stored source."""
    from tidings.ingest import read_source
    from tidings.pipeline import opened

    if ref.isdigit():
        with opened(config) as store:
            found = find_source(store, ref)
        return read_source(Source(url=found.url, name=found.name, id=found.id), config.settings)
    return read_source(Source(url=location(ref)), config.settings)
