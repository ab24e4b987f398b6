"""`Store`: every read and write of tidings' state, on SQLite (WAL) or PostgreSQL through SQLAlchemy Core.

Each method that writes does one unit of work in one transaction: one source's entries, one item's placement,
one story's revision. A crash between units loses nothing already committed and leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import sqrt
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.types import Text

from tidings import dedupe
from tidings.dedupe import Keyed
from tidings.errors import StoreError
from tidings.model import (
    CheckedClaim,
    CitedSource,
    Claim,
    Digest,
    Evidence,
    FactCheck,
    Item,
    Polling,
    Revision,
    Section,
    Sentence,
    Source,
    Story,
)
from tidings.store import schema as t
from tidings.store.migrations import migrate


def to_db(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def from_db(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None else None


@dataclass(frozen=True)
class IngestCounts:
    new: int = 0  # items stored for the first time
    linked: int = 0  # entries that were already stored, now also credited to this source
    updated: int = 0  # items whose text changed at their original source
    unchanged: int = 0


@dataclass(frozen=True)
class SourceRead:
    """One source's read as the store records it: its entries (none when it was unchanged or failed), its status
    and its schedule."""

    source: Source
    entries: Sequence[Keyed] = ()
    status: str = "ok"
    error: str | None = None
    content_hash: str | None = None  # with etag and last_modified: the cache for the next read, when given
    etag: str | None = None
    last_modified: str | None = None
    title: str = ""
    polling: Polling | None = None
    kind: str = ""
    prints: Sequence[str] | None = None  # fingerprints of the read's raw entries; None keeps those stored


@dataclass(frozen=True)
class StoryState:
    """What the clusterer needs of a story: its term profile and when it last grew."""

    id: int
    digest: str
    centroid: dict[str, float]
    last_item: datetime


@dataclass(frozen=True, slots=True)
class StoredMember:
    """An item of a story as the clusterer reads it: its word counts where the store keeps them (`terms`), else
    its text to count them from."""

    id: int
    title: str
    published: datetime
    terms: dict[str, float] | None
    text: str | None


@dataclass(frozen=True)
class NewStory:
    digest: str
    title: str
    centroid: dict[str, float]
    last_item: datetime


@dataclass
class ClusterOutcome:
    """Everything one cluster stage decided, for `Store.apply_clustering`. A story is referred to by its id, or
    by a temporary name (a str) when it is new."""

    new_stories: dict[str, NewStory] = field(default_factory=dict)
    placements: list[tuple[int, str, int | str, float]] = field(default_factory=list)  # item, digest, story
    moves: list[tuple[int, str, int | str, float]] = field(default_factory=list)  # stored item to another story
    profiles: dict[int, tuple[dict[str, float], datetime]] = field(default_factory=dict)
    merged: dict[int, int | str] = field(default_factory=dict)  # story that went -> where its items went
    events: list[tuple[str, int | str, int | str, str]] = field(default_factory=list)  # kind, story, other, detail
    routed: list[int] = field(default_factory=list)
    term_counts: dict[str, int] = field(default_factory=dict)
    item_terms: dict[int, dict[str, float]] = field(default_factory=dict)  # word counts to keep, by item


# What an `Item` is read from: every column of items but the clusterer's word counts, which only it reads.
_ITEM_FIELDS = tuple(c for c in t.items.c if c.name != "terms")
STORY_INDEX_TERMS = 40  # terms a story is indexed by (see `story_index_terms`)


# --- opening a database ------------------------------------------------------------------------------------

def missing_store(location: str) -> Path | None:
    """The SQLite file a location names, when there is no such file yet (None when it exists, or for a server)."""
    if "://" not in location:
        path = Path(location).expanduser().resolve()
    else:
        try:
            url = make_url(location)  # as the engine reads it: options after "?" left out, escapes decoded
        except ArgumentError:
            return None  # opening the store says what is wrong with it
        database = url.database
        if url.get_backend_name() != "sqlite" or not database or database == ":memory:" or \
                database.startswith("file:"):
            return None
        path = Path(database)
    return None if path.exists() else path


def database_url(location: str) -> str:
    """A SQLAlchemy URL for a SQLite path or a database URL. `postgresql://` means the psycopg 3 driver, and a
    SQLite file's folder is made if it does not exist yet (as a user naming `data/tidings.db` expects)."""
    if "://" not in location:
        location = "sqlite:///" + str(Path(location).expanduser().resolve())
    scheme, rest = location.split("://", 1)
    if scheme.lower() in ("postgres", "postgresql"):
        return "postgresql+psycopg://" + rest
    if scheme.lower() == "sqlite" and rest.startswith("/") and rest not in ("/", "/:memory:"):
        folder = Path(rest[1:]).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{folder}: cannot make the database's folder: {exc.strerror or exc}") from None
    return location


def open_engine(url: str) -> Engine:
    try:
        return create_engine(url)
    except NoSuchModuleError:
        scheme = url.split("://", 1)[0]
        raise StoreError(f"{_hide_password(url)}: unknown database URL scheme {scheme!r} (use a SQLite file "
                         "path or postgresql://user@host/dbname)") from None
    except ArgumentError as exc:
        raise StoreError(f"{_hide_password(url)}: not a database URL ({exc})") from None
    except ImportError:
        scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
        if scheme not in ("postgresql", "postgres"):
            raise StoreError(f"{_hide_password(url)}: unsupported database URL scheme {scheme!r} (use a SQLite file "
                             "path or postgresql://user@host/dbname)") from None
        raise StoreError(f"{_hide_password(url)}: the PostgreSQL driver is not installed; "
                         "install it with: pip install 'tidings[postgres]'") from None


def shown_url(engine: Engine) -> str:
    """How to name the database in a message: the SQLite file's path, or the URL without its password."""
    if engine.dialect.name == "sqlite":
        return engine.url.database or ":memory:"
    return engine.url.render_as_string(hide_password=True)


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    lines = str(inner).strip().splitlines()
    return lines[0] if lines else type(inner).__name__


def _opening_error(shown: str, exc: BaseException) -> str:
    reason = _reason(exc)
    if "file is not a database" in reason:
        return (f"{shown}: not a SQLite database; point db (or --db) at a tidings database, or at a path where "
                "a new one can be made")
    if "unable to open database file" in reason:
        return f"{shown}: cannot open or create the database file here (check the folder exists and is writable)"
    return f"{shown}: cannot open the database: {reason}"


def _store_errors(cls):
    """Wrap every public method so that a database error leaves the store as one line naming the database."""
    def wrap(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except (SQLAlchemyError, sqlite3.Error) as exc:
                raise StoreError(f"{self.shown}: {_reason(exc)}") from exc
        return wrapper

    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and callable(member) and not isinstance(member, staticmethod):
            setattr(cls, name, wrap(member))
    return cls


log = logging.getLogger("tidings")
CORROBORATION = "corroboration"  # meta key: "pending" while claims are stored whose verdicts are not yet settled


@_store_errors
class Store:
    """Every method raises `StoreError` (one line naming the database) rather than a driver's exception."""

    def __init__(self, url: str) -> None:
        self.url = database_url(url)
        self._batch: Connection | None = None
        self.engine: Engine = open_engine(self.url)
        self.shown = shown_url(self.engine)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self._migrate()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            self.engine.dispose()
            if not self._read_only(exc):
                raise StoreError(_opening_error(self.shown, exc)) from exc

    def _migrate(self) -> None:
        migrate(self.engine.connect, lambda names: log.warning(
            f"{self.shown}: bringing the store up to this version of tidings ({', '.join(names)}); a large "
            "store takes a while, once"))

    def _read_only(self, exc: BaseException) -> bool:
        """Open a SQLite store that exists in a folder this process cannot write to (a read-only volume) as an
        unchanging file, read-only: SQLite could not make the files it keeps beside the database. (While a
        writer elsewhere has the store open, those files exist and the store opens as usual.) Reading works; a
        write fails as one line saying the database is read-only."""
        database = self.engine.url.database
        reason = _reason(exc)
        if self.engine.dialect.name != "sqlite" or database in (None, "", ":memory:") or \
                database.startswith("file:") or \
                not ("unable to open database file" in reason or "readonly database" in reason):
            return False
        path = Path(database).resolve()
        if not path.is_file() or os.access(path.parent, os.W_OK):
            return False
        # SQLite is given the URI itself: a URL would be decoded on the way, and a "#" in the path cut it short.
        uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
        self.engine = create_engine(f"sqlite:///{path}", creator=lambda: sqlite3.connect(
            uri, uri=True, check_same_thread=False))
        event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self._migrate()  # (a store of an older version would need writing: that fails here, as one line)
        except (SQLAlchemyError, sqlite3.Error) as again:
            self.engine.dispose()
            raise StoreError(f"{self.shown}: in a read-only folder, and cannot be read as it is: "
                             f"{_reason(again)}") from again
        log.warning(f"{self.shown}: the folder is read-only, so the store is read as a file that nothing changes "
                    "meanwhile; a store that another process writes needs a folder this one can write to")
        return True

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def run_lock(self, wait: bool = True) -> Iterator[None]:
        """Hold the store for one run, so two runs never interleave their writes: the second waits, or, with
        `wait=False`, stops with a one-line error. On SQLite a lock file beside the database (released by the
        system if the process dies); on PostgreSQL an advisory lock held by one connection."""
        if self.is_sqlite:
            database = self.engine.url.database
            path = Path(database + ".lock") if database not in (None, "", ":memory:") else None
            if path is None:
                yield
                return
            with open(path, "a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    raise StoreError(f"{self.shown}: another tidings run is using this store; wait for it to "
                                     "finish, or run again without --no-wait to queue behind it") from None
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        with self.engine.connect() as conn:
            key = 0x7469_6469  # "tidi": one lock per database
            if wait:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            elif not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                raise StoreError(f"{self.shown}: another tidings run is using this store; wait for it to finish, "
                                 "or run again without --no-wait to queue behind it")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Store many sources' reads in one transaction: `ingest` and `record_source` calls inside join it. All
        of them are stored, or, if any fails, none (the caller may then store them one by one)."""
        try:
            with self.engine.begin() as conn:
                self._batch = conn
                try:
                    yield
                finally:
                    self._batch = None
        except (SQLAlchemyError, sqlite3.Error) as exc:  # raised at commit, outside any wrapped method
            raise StoreError(f"{self.shown}: {_reason(exc)}") from exc

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        if self._batch is not None:
            yield self._batch
        else:
            with self.engine.begin() as conn:
                yield conn

    # --- digests ------------------------------------------------------------------------------------------

    def sync_digests(self, digests: Iterable[Digest]) -> None:
        with self.engine.begin() as conn:
            for d in digests:
                values = {"title": d.title, "description": d.description, "keywords": list(d.keywords)}
                done = conn.execute(update(t.digests).where(t.digests.c.slug == d.slug).values(**values))
                if done.rowcount == 0:
                    conn.execute(insert(t.digests).values(slug=d.slug, **values))

    def digests(self) -> list[Digest]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.digests).order_by(t.digests.c.slug)).all()
        return [Digest(r.slug, r.title, r.description, tuple(r.keywords or ())) for r in rows]

    # --- sources ------------------------------------------------------------------------------------------

    def upsert_source(self, source: Source, now: datetime) -> Source:
        """Insert a source named on the command line, or update the name, digests and credibility of the one
        with its URL."""
        with self.engine.begin() as conn:
            self._upsert_source(conn, source, now, None)
        found = self.source(source.url)
        assert found is not None
        return found

    def sync_sources(self, sources: Iterable[Source], now: datetime) -> list[str]:
        """Make the config's sources the ones it lists, in one transaction: upsert each (its fetch state is kept)
        and forget those the config no longer lists. Sources added on the command line are left alone.
        Returns the URLs forgotten; their items and stories stay."""
        c = t.sources.c
        sources = list(sources)
        with self.engine.begin() as conn:
            # One read of what is stored, then one statement per kind of change: a config lists thousands of
            # sources, and most runs change none of them.
            stored = {r.url: r for r in conn.execute(select(c.url, c.name, c.digests, c.credibility, c.kind,
                                                            c.origin))}
            fresh: dict[str, dict] = {}
            changed: dict[tuple[str, ...], list[dict]] = {}
            for source in sources:
                values = self._listed_values(source, "config")
                row = stored.get(source.url)
                if row is None:
                    fresh[source.url] = {"url": source.url, "status": "new", "created": to_db(now), **values}
                elif any(getattr(row, k) != v for k, v in values.items()):
                    changed.setdefault(tuple(sorted(values)), []).append({"url_": source.url, **values})
            for keys, rows in changed.items():
                conn.execute(update(t.sources).where(c.url == bindparam("url_"))
                             .values(**{k: bindparam(k) for k in keys}), rows)
            by_keys: dict[tuple[str, ...], list[dict]] = {}
            for row in fresh.values():
                by_keys.setdefault(tuple(sorted(row)), []).append(row)
            for rows in by_keys.values():
                conn.execute(insert(t.sources), rows)
            listed = {s.url for s in sources}
            gone = [u for u in conn.scalars(select(c.url).where(c.origin == "config")) if u not in listed]
            for chunk in _chunks(gone, 500):
                conn.execute(delete(t.sources).where(c.url.in_(chunk)))
        return gone

    @staticmethod
    def _listed_values(source: Source, origin: str | None) -> dict:
        values = {"name": source.name, "digests": list(source.digests), "credibility": source.credibility}
        if source.kind:  # a kind the user gave; otherwise the one learnt from reading it is kept
            values["kind"] = source.kind
        if origin:
            values["origin"] = origin
        return values

    @classmethod
    def _upsert_source(cls, conn, source: Source, now: datetime, origin: str | None) -> None:
        values = cls._listed_values(source, origin)
        done = conn.execute(update(t.sources).where(t.sources.c.url == source.url).values(**values))
        if done.rowcount == 0:
            conn.execute(insert(t.sources).values(url=source.url, status="new", created=to_db(now),
                                                  **{"origin": "cli", **values}))

    def remove_source(self, url_or_id: str | int) -> Source | None:
        """Forget a source, named by its URL or id; items it carried stay (other sources or stories may use
        them). Returns the source forgotten, or None if there was none."""
        found = self.source(url_or_id)
        if found is not None:
            with self.engine.begin() as conn:
                conn.execute(delete(t.sources).where(t.sources.c.id == found.id))
        return found

    def source(self, url_or_id: str | int) -> Source | None:
        if isinstance(url_or_id, int):
            if not _storable(url_or_id):
                return None
            return next(iter(self._sources(t.sources.c.id == url_or_id)), None)
        return next(iter(self._sources(t.sources.c.url == url_or_id)), None)

    def sources(self, item_counts: bool = True) -> list[Source]:
        """Every source; with `item_counts=False`, without counting each one's items (every `item_count` is 0),
        which takes a pass over every item's sources."""
        return self._sources(None, item_counts)

    def _sources(self, where, item_counts: bool = True) -> list[Source]:
        if item_counts:
            counts = (select(t.item_sources.c.source_id, func.count().label("n"))
                      .group_by(t.item_sources.c.source_id).subquery())
            query = (select(t.sources, func.coalesce(counts.c.n, 0).label("n"))
                     .outerjoin(counts, counts.c.source_id == t.sources.c.id).order_by(t.sources.c.id))
        else:
            query = select(t.sources, literal(0).label("n")).order_by(t.sources.c.id)
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Source(url=r.url, name=r.name, digests=tuple(r.digests or ()), credibility=r.credibility, id=r.id,
                       status=r.status, last_error=r.last_error, last_fetched=from_db(r.last_fetched),
                       item_count=r.n, title=r.title, kind=r.kind, next_check=from_db(r.next_check),
                       check_interval=r.check_interval, consecutive_errors=r.consecutive_errors,
                       last_success=from_db(r.last_success)) for r in rows]

    def source_cache(self, source_id: int) -> tuple[str | None, str | None, str | None, frozenset[str]]:
        """(content hash, ETag, Last-Modified) of the last successful read, to skip unchanged sources, and the
        fingerprints of its entries, to skip unchanged entries."""
        return self.source_caches([source_id])[source_id]

    def source_caches(self, source_ids: Sequence[int]
                      ) -> dict[int, tuple[str | None, str | None, str | None, frozenset[str]]]:
        """`source_cache` of many sources, in a few queries."""
        c = t.sources.c
        found = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(source_ids), 500):
                for row in conn.execute(select(c.id, c.content_hash, c.etag, c.last_modified, c.entry_prints)
                                        .where(c.id.in_(chunk))):
                    found[row.id] = (row.content_hash, row.etag, row.last_modified,
                                     frozenset((row.entry_prints or "").split()))
        return found

    def record_source(self, source_id: int, status: str, error: str | None, now: datetime,
                      content_hash: str | None = None, etag: str | None = None,
                      last_modified: str | None = None, polling: Polling | None = None, kind: str = "") -> None:
        """Record the outcome of reading a source that gave nothing new to store, and its schedule."""
        with self._begin() as conn:
            self._record_sources(conn, [(source_id, _source_values(
                now, status, error, content_hash, etag, last_modified, polling=polling, kind=kind))])

    @staticmethod
    def _record_sources(conn, values: Sequence[tuple[int, dict]]) -> None:
        """Set each source's columns (status, cache, schedule); sources with the same ones in one statement."""
        groups: dict[tuple[str, ...], list[dict]] = {}
        for source_id, columns in values:
            groups.setdefault(tuple(columns), []).append({**columns, "source_id_": source_id})
        for rows in groups.values():
            conn.execute(update(t.sources).where(t.sources.c.id == bindparam("source_id_")), rows)

    def reset_source(self, source_id: int) -> None:
        """Make a source due now with a clean record: one that was gone or backing off is read at the next run."""
        with self.engine.begin() as conn:
            conn.execute(update(t.sources).where(t.sources.c.id == source_id).values(
                status="new", next_check=None, consecutive_errors=0, last_error=None))

    # --- items --------------------------------------------------------------------------------------------

    def ingest(self, source: Source, entries: Sequence[Keyed], now: datetime, status: str = "ok",
               error: str | None = None, content_hash: str | None = None, etag: str | None = None,
               last_modified: str | None = None, near_threshold: float = 1.0, title: str = "",
               polling: Polling | None = None, kind: str = "") -> IngestCounts:
        """Store one source's entries and its fetch status in one transaction (see `ingest_reads`)."""
        read = SourceRead(source, entries, status, error, content_hash, etag, last_modified, title, polling, kind)
        return self.ingest_reads([read], now, near_threshold)[0]

    def ingest_reads(self, reads: Sequence[SourceRead], now: datetime, near_threshold: float = 1.0
                     ) -> list[IngestCounts]:
        """Store several sources' entries and fetch status in one transaction, in their order; what each gave.

        An entry known under any of its keys (canonical URL, GUID, content hash) is the same item, and so is one
        whose MinHash signature is at least `near_threshold` similar to a stored item's (a syndicated copy or a
        light rewrite): it is credited to this source too, not stored again. What is known is asked for in a
        few queries for all the reads, and what is new is written in one statement per table.
        """
        with self._begin() as conn:
            batch = _IngestBatch(conn, now, near_threshold)
            counts = batch.add(reads)
            batch.write()
            self._mark_stale(conn, self._stories_of(conn, batch.edited))
            self._record_sources(conn, [(read.source.id, _source_values(
                now, read.status, read.error, read.content_hash, read.etag, read.last_modified, read.title,
                read.polling, read.kind, read.prints)) for read in reads])
        return counts

    def has_any_key(self, keys: Sequence[str]) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(t.item_keys.c.key).where(t.item_keys.c.key.in_(list(keys))).limit(1)
                                ).first() is not None

    def items_to_check(self) -> list[Item]:
        """Items never fact-checked, or whose text changed since, by id."""
        return self.new_work()[1]  # found through the index of pending items

    def save_claims(self, checked: Sequence[tuple[Item, Sequence[CheckedClaim]]]) -> None:
        """Replace each item's checked claims and mark it checked, all in one transaction: a batch is checked
        wholly or not at all."""
        with self.engine.begin() as conn:
            ids = [item.id for item, _ in checked]
            for chunk in _chunks(ids, 500):
                conn.execute(delete(t.claims).where(t.claims.c.item_id.in_(chunk)))
            rows = [_claim_row(c, item.id) for item, found in checked for c in found]
            if rows:
                conn.execute(insert(t.claims), rows)
            if checked:
                conn.execute(update(t.items).where(t.items.c.id == bindparam("item_id_")),
                             [{"item_id_": item.id, "checked": item.content_hash} for item, _ in checked])
            self._mark_stale(conn, self._stories_of(conn, ids))
            # Verdicts across sources are settled after the claims are stored, in another transaction; remembering
            # that it is owed, here, lets a run killed in between settle them at the next start.
            self._set_meta(conn, CORROBORATION, "pending")

    def meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(select(t.meta.c.value).where(t.meta.c.key == key))

    def set_meta(self, key: str, value: str) -> None:
        """Remember a named value (say, when the last email edition went out)."""
        with self._begin() as conn:
            self._set_meta(conn, key, value)

    def recheck_all(self, kb_fingerprint: str) -> int:
        """Mark every item for checking again because the knowledge base changed, and remember the new KB's
        fingerprint, in one transaction. Returns how many items were marked."""
        with self.engine.begin() as conn:
            marked = conn.execute(update(t.items).where(t.items.c.checked.is_not(None)).values(checked=None))
            self._set_meta(conn, "kb_fingerprint", kb_fingerprint)
            return marked.rowcount

    def set_verdicts(self, changes: Sequence[tuple[int, str, Sequence[Evidence]]]) -> None:
        """(claim id, verdict, evidence) for claims whose standing among the sources changed, in one transaction
        that also records that no corroboration is owed any more."""
        with self.engine.begin() as conn:
            for claim_id, verdict, evidence in changes:
                conn.execute(update(t.claims).where(t.claims.c.id == claim_id)
                             .values(verdict=verdict, evidence=[{"fact": e.fact, "source": e.source}
                                                                for e in evidence]))
            items = set()
            for chunk in _chunks([claim_id for claim_id, *_ in changes], 500):
                items.update(conn.scalars(select(t.claims.c.item_id).where(t.claims.c.id.in_(chunk))))
            self._mark_stale(conn, self._stories_of(conn, items))
            self._set_meta(conn, CORROBORATION, "done")

    def writer_reply(self, request_hash: str) -> str | None:
        """The reply stored for a model writer's request, if it was ever answered."""
        with self.engine.connect() as conn:
            return conn.scalar(select(t.writer_replies.c.reply).where(t.writer_replies.c.hash == request_hash))

    def keep_writer_reply(self, request_hash: str, model: str, messages: Sequence[dict], answer, now: datetime) -> None:
        """Store a model writer's request and its answer (an `Answer`) under the request's hash."""
        with self._begin() as conn:
            upsert = _insert_for(conn)(t.writer_replies).values(
                hash=request_hash, model=model, request=list(messages), reply=answer.text,
                prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens, created=to_db(now))
            conn.execute(upsert.on_conflict_do_nothing(index_elements=[t.writer_replies.c.hash]))

    @staticmethod
    def _set_meta(conn, key: str, value: str) -> None:
        upsert = _insert_for(conn)(t.meta).values(key=key, value=value)
        conn.execute(upsert.on_conflict_do_update(index_elements=[t.meta.c.key], set_={"value": value}))

    def claims(self, item_ids: Iterable[int] | None = None,
               verdicts: Sequence[str] | None = None) -> list[CheckedClaim]:
        """Claims by item, then as stored; of these items only, in queries of 500 ids (SQLite caps a statement's
        values)."""
        query = select(t.claims).order_by(t.claims.c.item_id, t.claims.c.id)
        if verdicts is not None:
            query = query.where(t.claims.c.verdict.in_(list(verdicts)))
        with self.engine.connect() as conn:
            if item_ids is None:
                return [_checked_claim(r) for r in conn.execute(query)]
            # Chunks of sorted ids come in item order already.
            return [_checked_claim(r) for chunk in _chunks(sorted(set(item_ids)), 500)
                    for r in conn.execute(query.where(t.claims.c.item_id.in_(chunk)))]

    def flagged_claims(self, digest: str, verdicts: Sequence[str]) -> list[tuple[CheckedClaim, int]]:
        """Claims with these verdicts in the items of a digest's live stories, each with its story's id. The few
        flagged claims are read first and their stories looked up after: joined in one query, the database walks
        every member of the digest's stories instead."""
        si = t.story_items.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.claims).where(t.claims.c.verdict.in_(list(verdicts)))
                                .order_by(t.claims.c.item_id, t.claims.c.id)).all()
            story_of: dict[int, int] = {}
            for chunk in _chunks(sorted({r.item_id for r in rows}), 500):
                story_of.update(conn.execute(
                    select(si.item_id, si.story_id).join(t.stories, t.stories.c.id == si.story_id)
                    .where((si.digest == digest) & (t.stories.c.status == "active") & si.item_id.in_(chunk))).all())
        return [(_checked_claim(r), story_of[r.item_id]) for r in rows if r.item_id in story_of]

    def item_heads(self, ids: Iterable[int]) -> dict[int, tuple[str, str, str, datetime]]:
        """Of these items, what a list of them shows: url, title, publisher and when it was published (not their
        texts and sources, as `items` reads them)."""
        c = t.items.c
        out: dict[int, tuple[str, str, str, datetime]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(ids)), 500):
                for row in conn.execute(select(c.id, c.url, c.title, c.publisher, c.published)
                                        .where(c.id.in_(chunk))):
                    out[row.id] = (row.url, row.title, row.publisher, from_db(row.published))
        return out

    def item_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(t.items)).scalar_one()

    def items(self, ids: Iterable[int] | None = None) -> list[Item]:
        """Items oldest first; of these ids only, in queries of 500 ids (SQLite caps a statement's values)."""
        query = select(*_ITEM_FIELDS).order_by(t.items.c.published, t.items.c.id)
        if ids is None:
            return self._items(query)
        found = [i for chunk in _chunks(sorted(i for i in set(ids) if _storable(i)), 500)
                 for i in self._items(query.where(t.items.c.id.in_(chunk)))]
        return sorted(found, key=lambda i: (i.published, i.id))

    def unrouted_items(self) -> list[Item]:
        return self._items(select(*_ITEM_FIELDS).where(t.items.c.routed.is_(None))
                           .order_by(t.items.c.published, t.items.c.id))

    def new_work(self) -> tuple[list[Item], list[Item]]:
        """The items to place (as `unrouted_items`) and those to check (as `items_to_check`), read at once: in a
        run they are mostly the same new items."""
        c = t.items.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_ITEM_FIELDS).where(_pending_work()).order_by(c.published, c.id)).all()
            items = self._as_items(conn, rows)
        unrouted = [item for item, row in zip(items, rows, strict=True) if row.routed is None]
        to_check = sorted((item for item, row in zip(items, rows, strict=True) if row.checked != row.content_hash),
                          key=lambda item: item.id)
        return unrouted, to_check

    def _items(self, query) -> list[Item]:
        with self.engine.connect() as conn:
            return self._as_items(conn, conn.execute(query).all())

    @staticmethod
    def _as_items(conn, rows: Sequence) -> list[Item]:
        """Items of `rows` of the items table, with the sources that carry them."""
        ids = [r.id for r in rows]
        carriers: dict[int, list[tuple[int, str, float | None]]] = {}
        for chunk in _chunks(ids, 500):
            for link in conn.execute(
                    select(t.item_sources.c.item_id, t.item_sources.c.source_id, t.item_sources.c.publisher,
                           t.sources.c.credibility)
                    .join(t.sources, t.sources.c.id == t.item_sources.c.source_id)
                    .where(t.item_sources.c.item_id.in_(chunk))
                    .order_by(t.item_sources.c.first_seen, t.item_sources.c.source_id)):
                carriers.setdefault(link.item_id, []).append((link.source_id, link.publisher, link.credibility))
        out = []
        for r in rows:
            links = carriers.get(r.id, [])
            publishers = [r.publisher] + [p for _, p, _ in links if p != r.publisher]
            known = [c for _, _, c in links if c is not None]
            out.append(Item(id=r.id, url=r.url, title=r.title, text=r.text, publisher=r.publisher,
                            published=from_db(r.published), content_hash=r.content_hash,
                            source_ids=tuple(s for s, _, _ in links), publishers=tuple(dict.fromkeys(publishers)),
                            credibility=max(known) if known else None))
        return out

    # --- reading for the server ---------------------------------------------------------------------------

    def data_version(self) -> tuple:
        """A value that changes whenever a run changes what a page can show: the newest row of each table that
        grows, the last story update and source read, and how many stories are live (merges retire stories)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(
                select(func.max(t.items.c.id)).scalar_subquery(),
                select(func.max(t.revisions.c.id)).scalar_subquery(),
                select(func.max(t.claims.c.id)).scalar_subquery(),
                select(func.max(t.stories.c.updated)).scalar_subquery(),
                select(func.count()).select_from(t.stories).where(t.stories.c.status == "active").scalar_subquery(),
                select(func.max(t.sources.c.last_fetched)).scalar_subquery(),
                select(func.count()).select_from(t.sources).scalar_subquery())).one()
        return tuple(row)

    def story_ids_page(self, digest: str | None = None, updated_since: datetime | None = None, limit: int = 50,
                       after: tuple[datetime, int] | None = None) -> list[int]:
        """Ids of live stories, most recently updated first (ties by id, highest first), `limit` of them after
        the (updated, id) of the last one a client has: a cursor that stays put while stories are added."""
        s = t.stories.c
        query = select(s.id).where(s.status == "active").order_by(s.updated.desc(), s.id.desc()).limit(limit)
        if digest:
            query = query.where(s.digest == digest)
        if updated_since is not None:
            query = query.where(s.updated >= to_db(updated_since))
        if after is not None:
            when = to_db(after[0])
            query = query.where((s.updated < when) | ((s.updated == when) & (s.id < after[1])))
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def latest_revisions(self, story_ids: Sequence[int]) -> dict[int, Revision]:
        """The current revision of each of these stories, in a few queries."""
        r = t.revisions.c
        found: dict[int, Revision] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(story_ids)), 500):
                last = (select(r.story_id, func.max(r.number).label("n")).where(r.story_id.in_(chunk))
                        .group_by(r.story_id).subquery())
                rows = conn.execute(select(t.revisions).join(
                    last, (last.c.story_id == r.story_id) & (last.c.n == r.number))).all()
                found.update((row.story_id, _revision(row)) for row in rows)
        return found

    def story_coverage(self, story_ids: Sequence[int]) -> dict[int, list[tuple[str, float | None]]]:
        """(publisher, best credibility among the sources that carried it) of each item of each story."""
        si, i, src, links = t.story_items.c, t.items.c, t.sources.c, t.item_sources.c
        found: dict[int, list[tuple[str, float | None]]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(story_ids)), 500):
                query = (select(si.story_id, i.publisher, func.max(src.credibility))
                         .join(t.items, i.id == si.item_id)
                         .outerjoin(t.item_sources, links.item_id == si.item_id)
                         .outerjoin(t.sources, src.id == links.source_id)
                         .where(si.story_id.in_(chunk)).group_by(si.story_id, si.item_id, i.publisher)
                         .order_by(si.story_id, si.item_id))
                for story_id, publisher, credibility in conn.execute(query):
                    found.setdefault(story_id, []).append((publisher, credibility))
        return found

    def item_stories(self, item_ids: Sequence[int]) -> dict[int, list[tuple[int, str, str]]]:
        """The live stories each item is in: (story id, digest, title)."""
        si, s = t.story_items.c, t.stories.c
        found: dict[int, list[tuple[int, str, str]]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(item_ids)), 500):
                for item_id, story_id, digest, title in conn.execute(
                        select(si.item_id, s.id, s.digest, s.title).join(t.stories, s.id == si.story_id)
                        .where(si.item_id.in_(chunk) & (s.status == "active")).order_by(si.item_id, s.id)):
                    found.setdefault(item_id, []).append((story_id, digest, title))
        return found

    def search(self, match: str, pg_query: str, *, digest: str | None = None, since: datetime | None = None,
               until: datetime | None = None, publisher: str | None = None, verdict: str | None = None,
               limit: int = 20, offset: int = 0) -> list[tuple[int, str, str]]:
        """Items matching a search, best first: (item id, title snippet, text snippet), each snippet with the
        matched words between \x02 and \x03 (characters no stored text has, so a caller can mark them up after
        escaping the text). `match` is an FTS5 query (SQLite), `pg_query` a tsquery (PostgreSQL)."""
        filters = []
        params: dict[str, object] = {"n": limit, "skip": offset}
        if digest:
            filters.append("i.id IN (SELECT item_id FROM story_items WHERE digest = :digest)")
            params["digest"] = digest
        if since is not None:
            filters.append("i.published >= :since")
            params["since"] = to_db(since)
        if until is not None:
            filters.append("i.published < :until")
            params["until"] = to_db(until)
        if publisher:
            filters.append("(lower(i.publisher) = lower(:publisher) OR i.id IN (SELECT item_id FROM item_sources "
                           "WHERE lower(publisher) = lower(:publisher)))")
            params["publisher"] = publisher
        if verdict:
            filters.append("i.id IN (SELECT item_id FROM claims WHERE verdict = :verdict)")
            params["verdict"] = verdict
        where = "".join(f" AND {f}" for f in filters)
        with self.engine.connect() as conn:
            if self.is_sqlite:
                params["q"] = match
                rows = conn.execute(text(
                    "SELECT i.id, snippet(items_fts, 0, char(2), char(3), '…', 24), "
                    "snippet(items_fts, 1, char(2), char(3), '…', 32) FROM items_fts "
                    f"JOIN items i ON i.id = items_fts.rowid WHERE items_fts MATCH :q{where} "
                    "ORDER BY rank, i.id LIMIT :n OFFSET :skip"), params).all()
            else:
                params["q"] = pg_query
                marks = "StartSel=\x02, StopSel=\x03, MaxFragments=1, MaxWords=32, MinWords=12"
                rows = conn.execute(text(
                    "SELECT i.id, ts_headline('english', i.title, to_tsquery('english', :q), :marks), "
                    "ts_headline('english', i.text, to_tsquery('english', :q), :marks) FROM items i "
                    "WHERE to_tsvector('english', i.title || ' ' || i.text) @@ to_tsquery('english', :q)"
                    f"{where} ORDER BY ts_rank(to_tsvector('english', i.title || ' ' || i.text), "
                    "to_tsquery('english', :q)) DESC, i.id LIMIT :n OFFSET :skip"),
                    {**params, "marks": marks}).all()
        return [(row[0], row[1], row[2]) for row in rows]

    # --- clustering ---------------------------------------------------------------------------------------

    def term_stats(self, terms: Iterable[str]) -> tuple[int, dict[str, int], int]:
        """(documents seen, document frequency of each of `terms`, how many terms there are in all) for TF-IDF."""
        with self.engine.connect() as conn:
            docs = conn.execute(select(t.counters.c.value).where(t.counters.c.key == "documents")).scalar()
            size = conn.execute(select(func.count()).select_from(t.terms)).scalar_one()
        return int(docs or 0), self.document_frequencies(terms), size

    def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """How many documents hold each of `terms` (terms never seen are left out)."""
        df: dict[str, int] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(terms)), 500):
                df.update(conn.execute(select(t.terms.c.term, t.terms.c.df).where(t.terms.c.term.in_(chunk))).all())
        return df

    def active_stories(self, since: datetime, ids: Iterable[int] | None = None,
                       digests: Iterable[str] | None = None, profiles: bool = True) -> list[StoryState]:
        """Stories whose newest item is no older than `since`: the ones a new item may join (of `ids` only, and of
        `digests` only, when given). Without `profiles`, their centroids are not read (they are left empty): a
        caller that loads the stories' members makes the centroids from them."""
        s = t.stories.c
        query = select(s.id, s.digest, s.last_item, *([s.centroid] if profiles else [])) \
            .where(s.last_item >= to_db(since), s.status == "active")
        if digests is not None:
            query = query.where(s.digest.in_(list(digests)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(s.id)) if ids is None else \
                (r for chunk in _chunks(sorted(set(ids)), 500) for r in conn.execute(query.where(s.id.in_(chunk))
                                                                                       .order_by(s.id)))
            return [StoryState(r.id, r.digest, dict(r.centroid) if profiles else {}, from_db(r.last_item))
                    for r in rows]

    def any_story_between(self, since: datetime, until: datetime) -> bool:
        """Whether some active story's newest item is from `since` up to (not including) `until`."""
        stories = t.stories.c
        query = select(stories.id).where(stories.last_item >= to_db(since), stories.last_item < to_db(until),
                                         stories.status == "active").limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def stories_indexed_by(self, terms: Iterable[str], since: datetime, until: datetime
                           ) -> dict[int, dict[str, float]]:
        """The stories whose newest item is from `since` up to (not including) `until` and which are indexed by
        some of `terms` (a story is indexed by its strongest terms: `story_index_terms`), with the weights of
        those terms."""
        found: dict[int, dict[str, float]] = {}
        st, stories = t.story_terms.c, t.stories.c
        window = select(stories.id).where(stories.last_item >= to_db(since), stories.last_item < to_db(until),
                                          stories.status == "active")
        # Each term's postings are read by the term alone, then kept if their story is in the window: "+ 0" keeps
        # the planner from probing every (term, story of the window) pair instead, thousands of times more.
        query = select(st.story_id, st.term, st.weight).where((st.story_id + 0).in_(window))
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(terms)), 500):
                for story_id, term, weight in conn.execute(query.where(st.term.in_(chunk))):
                    found.setdefault(story_id, {})[term] = weight
        return found

    def story_members(self, story_ids: Sequence[int]) -> dict[int, list[StoredMember]]:
        """The items of each story, oldest first, as the clusterer reads them: their kept word counts, and the text
        only of those whose counts are not kept."""
        out: dict[int, list[StoredMember]] = {k: [] for k in story_ids}
        si, items = t.story_items.c, t.items.c
        with self.engine.connect() as conn:
            rows = [row for chunk in _chunks(list(story_ids), 500) for row in conn.execute(
                select(si.story_id, items.id, items.title, items.published, items.terms,
                       case((items.terms.is_(None), items.text)).label("text"))
                .join(t.items, items.id == si.item_id).where(si.story_id.in_(chunk)))]
        terms = iter(_parsed([row.terms for row in rows if row.terms]))
        for row in rows:
            out[row.story_id].append(StoredMember(row.id, row.title, from_db(row.published),
                                                  next(terms) if row.terms else None, row.text))
        for members in out.values():
            members.sort(key=lambda m: (m.published, m.id))
        return out

    def apply_clustering(self, outcome: ClusterOutcome, now: datetime) -> dict[str, int]:
        """Write what the clusterer decided, in one transaction: new stories, where each item now is, story
        profiles, merges (with redirects), splits and revivals, the placed items and their term counts.
        Returns the ids of the new stories by their temporary names."""
        created: dict[str, int] = {}
        with self.engine.begin() as conn:
            for name, story in outcome.new_stories.items():
                created[name] = conn.execute(insert(t.stories).values(
                    digest=story.digest, title=story.title, created=to_db(now), updated=to_db(now),
                    last_item=to_db(story.last_item), centroid=story.centroid).returning(t.stories.c.id)
                ).scalar_one()

            def resolve(ref: int | str) -> int:
                return created[ref] if isinstance(ref, str) else ref

            for story_id, (centroid, last_item) in outcome.profiles.items():
                conn.execute(update(t.stories).where(t.stories.c.id == story_id).values(
                    centroid=centroid, last_item=to_db(last_item)))
            touched = {resolve(ref) for *_, ref, _ in outcome.placements + outcome.moves}
            touched |= set(outcome.profiles) | set(outcome.merged) | {resolve(r) for r in outcome.merged.values()}
            touched |= self._stories_of(conn, [item_id for item_id, *_ in outcome.moves])  # where they were
            for item_id, digest, ref, score in outcome.moves:
                conn.execute(update(t.story_items).where(t.story_items.c.item_id == item_id,
                                                         t.story_items.c.digest == digest)
                             .values(story_id=resolve(ref), score=score))
            if outcome.placements:
                conn.execute(insert(t.story_items), [
                    {"story_id": resolve(ref), "item_id": item_id, "digest": digest, "score": score,
                     "added": to_db(now)} for item_id, digest, ref, score in outcome.placements])
            events = [{"kind": kind, "story_id": resolve(a), "other_id": resolve(b), "created": to_db(now),
                       "detail": detail} for kind, a, b, detail in outcome.events]
            if events:
                conn.execute(insert(t.story_events), events)
            for gone, into in outcome.merged.items():
                conn.execute(update(t.stories).where(t.stories.c.id == gone).values(
                    status="merged", merged_into=resolve(into), centroid={}))
            index = {story_id: centroid for story_id, (centroid, _) in outcome.profiles.items()}
            index |= {created[name]: story.centroid for name, story in outcome.new_stories.items()}
            self._index_stories(conn, index, gone=outcome.merged)
            for chunk in _chunks(list(outcome.routed), 500):
                conn.execute(update(t.items).where(t.items.c.id.in_(chunk)).values(routed=to_db(now)))
            if outcome.item_terms:
                conn.execute(update(t.items).where(t.items.c.id == bindparam("item_id_")), [
                    {"item_id_": item_id, "terms": json.dumps(terms, separators=(",", ":"))}
                    for item_id, terms in outcome.item_terms.items()])
            self._count_terms(conn, outcome.term_counts, len(outcome.routed))
            self._mark_stale(conn, touched)
        return created

    @staticmethod
    def _stories_of(conn, item_ids: Iterable[int]) -> set[int]:
        found: set[int] = set()
        for chunk in _chunks(list(item_ids), 500):
            found.update(conn.scalars(select(t.story_items.c.story_id).where(t.story_items.c.item_id.in_(chunk))))
        return found

    @staticmethod
    def _index_stories(conn, centroids: dict[int, dict[str, float]], gone: Iterable[int] = ()) -> None:
        """Index stories by their strongest terms again; forget the ones that are `gone`."""
        for chunk in _chunks(sorted(set(centroids) | set(gone)), 500):
            conn.execute(delete(t.story_terms).where(t.story_terms.c.story_id.in_(chunk)))
        rows = [(term, story_id, weight) for story_id, centroid in centroids.items()
                if story_id not in gone for term, weight in story_index_terms(centroid)]
        if rows:
            _insert_plain(conn, t.story_terms, rows)

    @staticmethod
    def _mark_stale(conn, story_ids: Iterable[int]) -> None:
        rows = [{"story_id": k} for k in set(story_ids)]
        if rows:
            conn.execute(_insert_for(conn)(t.stale_stories).on_conflict_do_nothing(), rows)

    def _count_terms(self, conn, df: dict[str, int], documents: int) -> None:
        upsert = _insert_for(conn)
        if df:
            stmt = upsert(t.terms)
            conn.execute(stmt.on_conflict_do_update(index_elements=[t.terms.c.term],
                                                    set_={"df": t.terms.c.df + stmt.excluded.df}),
                         [{"term": k, "df": v} for k, v in sorted(df.items())])  # in the order of the index on term
        if documents:
            stmt = upsert(t.counters).values(key="documents", value=documents)
            conn.execute(stmt.on_conflict_do_update(index_elements=[t.counters.c.key],
                                                    set_={"value": t.counters.c.value + stmt.excluded.value}))

    # --- stories and revisions ----------------------------------------------------------------------------

    def stories(self, digest: str | None = None) -> list[Story]:
        """Live stories (not merged away), most recently updated first."""
        live = t.stories.c.status == "active"
        return self._stories(live & (t.stories.c.digest == digest) if digest else live)

    def story(self, story_id: int) -> Story | None:
        return next(iter(self.stories_by_id([story_id])), None)

    def stories_by_id(self, story_ids: Sequence[int]) -> list[Story]:
        """The stories asked for (whatever their status), most recently updated first."""
        return [story for chunk in _chunks(sorted(i for i in set(story_ids) if _storable(i)), 500)
                for story in self._stories(t.stories.c.id.in_(chunk), only=chunk)]

    def redirects(self) -> dict[int, int]:
        """Merged story id -> the live story it now lives in (following chains of merges)."""
        with self.engine.connect() as conn:
            pairs = dict(conn.execute(select(t.stories.c.id, t.stories.c.merged_into)
                                      .where(t.stories.c.merged_into.is_not(None))).all())
        out = {}
        for story_id in pairs:
            target, seen = pairs[story_id], {story_id}
            while target in pairs and target not in seen:
                seen.add(target)
                target = pairs[target]
            out[story_id] = target
        return out

    def story_events(self, story_id: int | None = None) -> list[dict]:
        query = select(t.story_events).order_by(t.story_events.c.id)
        if story_id is not None:
            query = query.where((t.story_events.c.story_id == story_id) | (t.story_events.c.other_id == story_id))
        with self.engine.connect() as conn:
            return [{**r._mapping, "created": from_db(r.created)} for r in conn.execute(query)]

    def _stories(self, where, only: Sequence[int] | None = None) -> list[Story]:
        """Stories matching `where`; `only` (their ids, when known) spares counting every story's revisions."""
        revs = select(t.revisions.c.story_id, func.count().label("n")).group_by(t.revisions.c.story_id)
        if only is not None:
            revs = revs.where(t.revisions.c.story_id.in_(only))
        revs = revs.subquery()
        query = (select(t.stories, func.coalesce(revs.c.n, 0).label("revs"))
                 .outerjoin(revs, revs.c.story_id == t.stories.c.id)
                 .order_by(t.stories.c.updated.desc(), t.stories.c.id.desc()))
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            members: dict[int, list[int]] = {}
            links = select(t.story_items.c.story_id, t.story_items.c.item_id).order_by(t.story_items.c.item_id)
            if only is not None or len(rows) == 1:  # not every story's members
                links = links.where(t.story_items.c.story_id.in_([r.id for r in rows]))
            for link in conn.execute(links):
                members.setdefault(link.story_id, []).append(link.item_id)
        return [Story(id=r.id, digest=r.digest, title=r.title, created=from_db(r.created),
                      updated=from_db(r.updated), item_ids=tuple(members.get(r.id, ())), revision_count=r.revs)
                for r in rows]

    def story_versions(self) -> dict[str, dict[int, tuple]]:
        """For each digest, for each of its live stories, what its published pages depend on, in one query for
        every digest (each one's would count every revision again): (created, updated, items, revisions, latest
        revision's number and time). Changes to any of these mean new pages."""
        si = t.story_items.c
        members = (select(si.digest, si.story_id, func.count().label("n"))
                   .group_by(si.digest, si.story_id).subquery())
        revs = (select(t.revisions.c.story_id, func.count().label("n"), func.max(t.revisions.c.number).label("last"),
                       func.max(t.revisions.c.created).label("at"))
                .group_by(t.revisions.c.story_id).subquery())
        s = t.stories.c
        query = (select(s.digest, s.id, s.created, s.updated, func.coalesce(members.c.n, 0), revs.c.n, revs.c.last,
                        revs.c.at)
                 .join(revs, revs.c.story_id == s.id)
                 .outerjoin(members, (members.c.story_id == s.id) & (members.c.digest == s.digest))
                 .where(s.status == "active"))
        out: dict[str, dict[int, tuple]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                out.setdefault(r[0], {})[r[1]] = tuple(r[2:])
        return out

    def published(self, site: str) -> tuple[str | None, dict[int, tuple[str, dict]], dict[str, str]]:
        """(the version of tidings' pages that last published `site`, {story id: (signature, listing)}, {page of a
        digest: signature of what it was made from})."""
        prefix = f"page:{site}:"
        with self.engine.connect() as conn:
            version = conn.scalar(select(t.meta.c.value).where(t.meta.c.key == f"site:{site}"))
            # The listings as the database holds them, decoded here in one go: the JSON type's processing, row by
            # row, takes twice as long, and every publish reads every story's.
            rows = conn.execute(select(t.published_stories.c.story_id, t.published_stories.c.signature,
                                       type_coerce(t.published_stories.c.listing, Text).label("listing"))
                                .where(t.published_stories.c.site == site)).all()
            pages = {key.removeprefix(prefix): value for key, value in conn.execute(
                select(t.meta.c.key, t.meta.c.value).where(t.meta.c.key.startswith(prefix, autoescape=True)))}
        listings = _parsed([r.listing for r in rows])
        return version, {r.story_id: (r.signature, listing) for r, listing in zip(rows, listings, strict=True)}, pages

    def save_published(self, site: str, version: str, changed: dict[int, tuple[str, dict]],
                       removed: Iterable[int] = (), everything: bool = False, pages: dict[str, str] | None = None
                       ) -> None:
        """Record what `site` now shows, in one transaction: the stories rendered now, those gone from it, or (with
        `everything`) the whole site, replacing what was recorded; and what its digests' `pages` were made
        from."""
        p = t.published_stories
        with self.engine.begin() as conn:
            if everything:
                conn.execute(delete(p).where(p.c.site == site))
                conn.execute(delete(t.meta).where(t.meta.c.key.startswith(f"page:{site}:", autoescape=True)))
            for page, signature in (pages or {}).items():
                self._set_meta(conn, f"page:{site}:{page}", signature)
            gone = list(set(removed) | set(changed))
            for chunk in _chunks(gone, 500):
                conn.execute(delete(p).where((p.c.site == site) & p.c.story_id.in_(chunk)))
            rows = [{"site": site, "story_id": k, "signature": sig, "listing": listing}
                    for k, (sig, listing) in changed.items()]
            if rows:
                conn.execute(insert(p), rows)
            self._set_meta(conn, f"site:{site}", version)

    def stories_to_revise(self) -> list[tuple[int, str]]:
        """(story id, hash of what its article is written from) for every story whose items, or the verdicts on
        its items' claims, changed since its last revision, or that has none yet. Only stories marked stale are
        looked at; those found unchanged after all are unmarked."""
        with self.engine.connect() as conn:
            stale = list(conn.scalars(select(t.stale_stories.c.story_id)))
        if not stale:
            return []
        digests: dict[int, hashlib._Hash] = {}
        by_story: dict[int, list[str]] = {}
        latest: dict[int, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(stale, 500):
                for story_id, item_id, chash in conn.execute(
                        select(t.story_items.c.story_id, t.items.c.id, t.items.c.content_hash)
                        .join(t.items, t.items.c.id == t.story_items.c.item_id)
                        .where(t.story_items.c.story_id.in_(chunk))
                        .order_by(t.story_items.c.story_id, t.items.c.id)):
                    digests.setdefault(story_id, hashlib.sha256()).update(f"{item_id}:{chash};".encode())
                # A verdict that changes (a claim now disputed by a new source, or contradicted by a corrected KB)
                # must reach the article, although no item changed.
                for story_id, *claim in conn.execute(
                        select(t.story_items.c.story_id, t.claims.c.item_id, t.claims.c.model,
                               t.claims.c.attribute, t.claims.c.value, t.claims.c.verdict, t.claims.c.sentence)
                        .join(t.claims, t.claims.c.item_id == t.story_items.c.item_id)
                        .where(t.story_items.c.story_id.in_(chunk))):
                    by_story.setdefault(story_id, []).append("\x1f".join(map(str, claim)))
                newest = (select(t.revisions.c.story_id, func.max(t.revisions.c.number).label("number"))
                          .where(t.revisions.c.story_id.in_(chunk)).group_by(t.revisions.c.story_id).subquery())
                latest.update(conn.execute(
                    select(t.revisions.c.story_id, t.revisions.c.items_hash)
                    .join(newest, (newest.c.story_id == t.revisions.c.story_id)
                          & (newest.c.number == t.revisions.c.number))).all())
        for story_id, states in by_story.items():
            if story_id in digests:
                digests[story_id].update("\x1e".join(sorted(states)).encode())
        out, settled = [], [k for k in stale if k not in digests]  # a story left with no items: nothing to write
        for story_id, h in digests.items():
            items_hash = h.hexdigest()
            if latest.get(story_id) != items_hash:
                out.append((story_id, items_hash))
            else:
                settled.append(story_id)
        if settled:
            with self.engine.begin() as conn:
                for chunk in _chunks(settled, 500):
                    conn.execute(delete(t.stale_stories).where(t.stale_stories.c.story_id.in_(chunk)))
        return sorted(out)

    def story_items(self, story_id: int) -> list[Item]:
        return self.stories_items([story_id])[story_id]

    def stories_items(self, story_ids: Sequence[int]) -> dict[int, list[Item]]:
        """The items of each of these stories, oldest first, in a few queries."""
        out: dict[int, list[Item]] = {k: [] for k in story_ids}
        si = t.story_items.c
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(out), 500):
                rows = conn.execute(select(*_ITEM_FIELDS, si.story_id.label("story_id_"))
                                    .join(t.story_items, si.item_id == t.items.c.id).where(si.story_id.in_(chunk))
                                    .order_by(si.story_id, t.items.c.published, t.items.c.id)).all()
                for row, item in zip(rows, self._as_items(conn, rows), strict=True):
                    out[row.story_id_].append(item)
        return out

    def add_revision(self, revision: Revision, items_hash: str) -> None:
        """Store a new revision and move its story's title and 'updated' stamp, in one transaction."""
        self.save_revisions([(revision, items_hash)])

    def item_notes(self, item_ids: Iterable[int]) -> dict[int, str]:
        """What the writer noted of these items' sentences (see `tidings.write.notes`), for those it has noted."""
        out: dict[int, str] = {}
        n = t.item_notes.c
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(item_ids)), 500):
                out.update((k, v) for k, v in conn.execute(select(n.item_id, n.notes).where(n.item_id.in_(chunk))))
        return out

    def save_revisions(self, new: Sequence[tuple[Revision, str]] = (),
                       unchanged: Sequence[tuple[int, int, str]] = (), notes: Mapping[int, str] | None = None
                       ) -> None:
        """In one transaction: `new` revisions (each with the hash of what it was written from), each moving its
        story's title and 'updated' stamp; and for `unchanged` stories (story id, number of its latest revision,
        hash), that their latest revision still stands for what they are now written from. Either way the stories
        are no longer stale. With them, the `notes` the writer took of items' sentences (item id -> notes)."""
        with self.engine.begin() as conn:
            if notes:
                upsert = _insert_for(conn)(t.item_notes)
                conn.execute(upsert.on_conflict_do_update(index_elements=[t.item_notes.c.item_id],
                                                          set_={"notes": upsert.excluded.notes}),
                             [{"item_id": k, "notes": v} for k, v in sorted(notes.items())])
            if new:
                # Many revisions as one statement each way (a statement per revision costs more than storing it).
                ids = _insert_ids(conn, t.revisions, [dict(
                    story_id=revision.story_id, number=revision.number, created=to_db(revision.created),
                    headline=revision.headline, body=revision_body(revision), item_ids=list(revision.item_ids),
                    items_hash=items_hash, changes=list(revision.changes)) for revision, items_hash in new])
                conn.execute(update(t.stories).where(t.stories.c.id == bindparam("story_id_")), [
                    {"story_id_": revision.story_id, "title": revision.headline, "updated": to_db(revision.created)}
                    for revision, _ in new])
                if self.is_sqlite:
                    conn.exec_driver_sql("INSERT INTO revisions_fts(rowid, headline, body) VALUES (?, ?, ?)", [
                        (rev_id, revision.headline, _plain(revision))
                        for rev_id, (revision, _) in zip(ids, new, strict=True)])
            for story_id, number, items_hash in unchanged:
                conn.execute(update(t.revisions).where(t.revisions.c.story_id == story_id,
                                                       t.revisions.c.number == number).values(items_hash=items_hash))
            done = sorted({revision.story_id for revision, _ in new} | {story_id for story_id, _, _ in unchanged})
            for chunk in _chunks(done, 500):
                conn.execute(delete(t.stale_stories).where(t.stale_stories.c.story_id.in_(chunk)))

    def revisions(self, story_id: int, whole_from: int = 0) -> list[Revision]:
        """A story's revisions, oldest first. Those before the `whole_from`-th (but the latest) come as outlines:
        number, time, headline, items and what changed, without their article (a page listing a story's history
        shows no more of them; their articles are most of what is read)."""
        r = t.revisions.c
        body = type_coerce(r.body, Text).label("body")  # decoded below, for the revisions that need it
        with self.engine.connect() as conn:
            rows = conn.execute(select(*(c for c in t.revisions.c if c.name != "body"), body)
                                .where(r.story_id == story_id).order_by(r.number)).all()
        last = len(rows) - 1
        return [_revision(row) if k >= whole_from or k == last else _outline(row) for k, row in enumerate(rows)]

    def latest_revision(self, story_id: int) -> Revision | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.revisions).where(t.revisions.c.story_id == story_id)
                               .order_by(t.revisions.c.number.desc()).limit(1)).first()
        return _revision(row) if row else None

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                    for name, table in (("digests", t.digests), ("sources", t.sources), ("items", t.items),
                                        ("stories", t.stories), ("revisions", t.revisions))}


def _plain(revision: Revision) -> str:
    """A revision's article as plain text, for the full-text index."""
    return " ".join(s.text for section in revision.sections for s in section.sentences)


def revision_body(revision: Revision) -> dict:
    return {
        "sections": [{"heading": s.heading, "sentences": [_sentence_body(x) for x in s.sentences]}
                     for s in revision.sections],
        "sources": [{"n": c.n, "item_id": c.item_id, "url": c.url, "title": c.title, "publisher": c.publisher,
                     "published": c.published.isoformat(), "carried_by": list(c.carried_by)}
                    for c in revision.sources],
        "fact_check": [{"sentence": f.sentence, "cites": list(f.cites), "model": f.model,
                        "attribute": f.attribute, "value": f.value, "verdict": f.verdict, "claim": f.claim,
                        "attributed_to": f.attributed_to,
                        "evidence": [{"fact": fact, "source": source} for fact, source in f.evidence]}
                       for f in revision.fact_check],
        "diff": {"added": list(revision.added), "removed": list(revision.removed)},
        "numbering": [list(pair) for pair in revision.numbering],
        **({"writer": revision.writer} if revision.writer != "extractive" else {}),
        **({"model": revision.model} if revision.model else {}),
        **({"dropped": [{"sentence": t, "why": why} for t, why in revision.dropped]} if revision.dropped else {}),
        **({"passages": [{"n": n, "text": t} for n, t in revision.passages]} if revision.passages else {}),
    }


def _sentence_body(s: Sentence) -> dict:
    out: dict = {"text": s.text, "cites": list(s.cites)}
    if s.insertions:  # bracketed editorial insertions: the source's words are `text` without these
        out["insertions"] = [{"at": at, "text": added} for at, added in s.insertions]
    if s.label:
        out["label"] = s.label
    return out


def _sentence(x: dict) -> Sentence:
    return Sentence(x["text"], tuple(x["cites"]), tuple((i["at"], i["text"]) for i in x.get("insertions", ())),
                    x.get("label", ""))


def _outline(row) -> Revision:
    return Revision(story_id=row.story_id, number=row.number, created=from_db(row.created), headline=row.headline,
                    sections=(), sources=(), item_ids=tuple(row.item_ids), changes=tuple(row.changes))


def _revision(row) -> Revision:
    body = row.body if isinstance(row.body, dict) else json.loads(row.body)
    sections = tuple(Section(s["heading"], tuple(_sentence(x) for x in s["sentences"])) for s in body["sections"])
    sources = tuple(CitedSource(n=c["n"], item_id=c["item_id"], url=c["url"], title=c["title"],
                                publisher=c["publisher"], published=datetime.fromisoformat(c["published"]),
                                carried_by=tuple(c.get("carried_by", ()))) for c in body["sources"])
    checks = tuple(FactCheck(f["sentence"], tuple(f["cites"]), f["model"], f["attribute"], f["value"],
                             f["verdict"], tuple((e["fact"], e["source"]) for e in f["evidence"]), f.get("claim", ""),
                             f.get("attributed_to", ""))
                   for f in body.get("fact_check", []))
    diff = body.get("diff", {})
    return Revision(story_id=row.story_id, number=row.number, created=from_db(row.created), headline=row.headline,
                    sections=sections, sources=sources, item_ids=tuple(row.item_ids), changes=tuple(row.changes),
                    fact_check=checks, added=tuple(diff.get("added", ())), removed=tuple(diff.get("removed", ())),
                    numbering=tuple((a, b) for a, b in body.get("numbering", ())),
                    writer=body.get("writer", "extractive"), model=body.get("model", ""),
                    dropped=tuple((d["sentence"], d["why"]) for d in body.get("dropped", ())),
                    passages=tuple((p["n"], p["text"]) for p in body.get("passages", ())))


_NUMERIC = ("params_total_b", "params_active_b", "context_tokens")


def _claim_row(c: CheckedClaim, item_id: int) -> dict:
    return {"item_id": item_id, "sentence": c.sentence, "model": c.claim.model, "attribute": c.claim.attribute,
            "value": str(c.claim.value), "verdict": c.verdict, "setting": c.claim.setting,
            "attributed_to": c.claim.attributed_to, "evidence": [{"fact": e.fact, "source": e.source}
                                                                 for e in c.evidence]}


def _checked_claim(row) -> CheckedClaim:
    value: str | float = row.value
    if row.attribute in _NUMERIC or row.attribute.startswith("score:"):
        with contextlib.suppress(ValueError):
            value = float(row.value)
    claim = Claim(row.model, row.attribute, value, setting=row.setting or "", attributed_to=row.attributed_to or "")
    evidence = tuple(Evidence(e.get("fact", ""), e.get("source", "")) for e in (row.evidence or ()))
    return CheckedClaim(row.item_id, row.sentence, claim, row.verdict, evidence, row.id)


def _insert_for(conn):
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL spell it the same)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


CACHE_KIB = 16 * 1024  # SQLite's page cache per connection


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, safe against corruption
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # A page cache of 16 MB instead of SQLite's 2: a run that places items rewrites the index rows of the stories
    # they join (story_terms, item_bands), scattered over a store of hundreds of megabytes, and with the default
    # cache it reads many of those pages from the file two or three times in the same transaction.
    cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cur.close()


def _source_values(now: datetime, status: str, error: str | None, content_hash: str | None = None,
                   etag: str | None = None, last_modified: str | None = None, title: str = "",
                   polling: Polling | None = None, kind: str = "", prints: Sequence[str] | None = None) -> dict:
    """The columns of a source that a read of it sets."""
    values = {"status": status, "last_error": error, "last_fetched": to_db(now)}
    if status in ("ok", "warning"):
        values["last_success"] = to_db(now)
    if content_hash is not None:
        values.update(content_hash=content_hash, etag=etag, last_modified=last_modified)
    if prints is not None:
        values["entry_prints"] = " ".join(prints) or None
    if title:
        values["title"] = title
    if kind:
        values["kind"] = kind
    if polling is not None:
        values.update(status=polling.status, last_error=polling.error, next_check=to_db(polling.next_check),
                      check_interval=polling.check_interval, consecutive_errors=polling.consecutive_errors)
        if not polling.succeeded:
            values.pop("last_success", None)
    return values


class _IngestBatch:
    """The entries of several reads, matched against what is stored and against each other, then written
    together. A new item goes by a negative stand-in id until it is inserted."""

    def __init__(self, conn, now: datetime, near_threshold: float) -> None:
        self.conn, self.now, self.near_threshold = conn, now, near_threshold
        self.owner: dict[str, int] = {}  # key -> item
        self.carried: set[tuple[int, int]] = set()  # (item, source)
        self.stored: dict[int, tuple[str, int | None]] = {}  # item -> (content hash, original source)
        self.new_items: list[dict] = []
        self.links: list[dict] = []
        self.new_keys: list[tuple[str, int]] = []  # (key, item)
        self.signatures: list[dict] = []
        self.bands: list[tuple[int, tuple[str, ...]]] = []  # (new item, its LSH band keys)
        self.pending_bands: dict[str, list[int]] = {}  # band -> new items in this batch, for near-duplicates
        self.pending_signatures: dict[int, bytes] = {}
        self.edited: list[int] = []

    def add(self, reads: Sequence[SourceRead]) -> list[IngestCounts]:
        """Match the reads' entries, in order; what each read gave."""
        self._look_up([key for read in reads for k in read.entries for key in k.keys])
        # Entries no key matches, stored or of an earlier entry in the batch, are new or near-duplicates: both
        # need a signature.
        unmatched, seen = [], set(self.owner)
        for k in (k for read in reads for k in read.entries):
            if seen.isdisjoint(k.keys):
                unmatched.append(k)
            seen.update(k.keys)
        dedupe.sign_all(unmatched)
        return [self._add(read) for read in reads]

    def _add(self, read: SourceRead) -> IngestCounts:
        source_id = read.source.id
        assert source_id is not None
        new = linked = updated = unchanged = 0
        for k in read.entries:
            entry = k.entry
            item_id = next((self.owner[key] for key in k.keys if key in self.owner), None)
            if item_id is None and k.signature is not None and self.near_threshold < 1.0:
                item_id = self._near_duplicate(k)
            if item_id is None:
                item_id = self._new_item(k, source_id)
                new += 1
            elif (item_id, source_id) not in self.carried:
                linked += 1
            elif not entry.truncated and self.stored[item_id][1] == source_id \
                    and self.stored[item_id][0] != k.content_hash:
                # The publisher edited its own article: keep the new text; its story gets revised.
                changes = dict(title=entry.title, text=entry.text, content_hash=k.content_hash, note=entry.error)
                if item_id < 0:
                    self.new_items[-item_id - 1].update(changes)  # listed twice: the later one wins
                else:
                    # Its words are counted again when the clusterer next reads it.
                    self.conn.execute(update(t.items).where(t.items.c.id == item_id).values(**changes, terms=None))
                    self.edited.append(item_id)
                self.stored[item_id] = (k.content_hash, source_id)
                updated += 1
            else:
                unchanged += 1
            if (item_id, source_id) not in self.carried:
                self.carried.add((item_id, source_id))
                self.links.append({"item_id": item_id, "source_id": source_id, "entry_url": entry.url,
                                   "publisher": entry.publisher, "first_seen": to_db(self.now)})
            for key in k.keys:
                if key not in self.owner:
                    self.owner[key] = item_id
                    self.new_keys.append((key, item_id))
        return IngestCounts(new=new, linked=linked, updated=updated, unchanged=unchanged)

    def _look_up(self, keys: list[str]) -> None:
        """Learn which stored items own these keys, who carries those items and their content hashes."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, int] = {}
        for chunk in _chunks(keys, 500):
            found.update(self.conn.execute(select(t.item_keys.c.key, t.item_keys.c.item_id)
                                           .where(t.item_keys.c.key.in_(chunk))).all())
        self.owner.update(found)
        self._load_items([i for i in set(found.values()) if i not in self.stored])

    def _load_items(self, ids: list[int]) -> None:
        for chunk in _chunks(ids, 500):
            self.carried.update(self.conn.execute(select(t.item_sources.c.item_id, t.item_sources.c.source_id)
                                                  .where(t.item_sources.c.item_id.in_(chunk))).all())
            self.stored.update((r.id, (r.content_hash, r.origin_source)) for r in self.conn.execute(
                select(t.items.c.id, t.items.c.content_hash, t.items.c.origin_source)
                .where(t.items.c.id.in_(chunk))))

    def _near_duplicate(self, k: Keyed) -> int | None:
        """The item most similar to this entry, stored or new in this batch, if it is similar enough to be the
        same article. On a tie, the newest (an item new in this batch is newer than any stored one)."""
        from tidings.minhash import similarity  # numpy: only once an entry has a signature to compare

        candidates = self.conn.execute(
            select(t.item_signatures.c.item_id, t.item_signatures.c.signature)
            .where(t.item_signatures.c.item_id.in_(
                select(t.item_bands.c.item_id).where(t.item_bands.c.band.in_(k.bands)).distinct()))).all()
        scored = [(similarity(k.signature, sig), 0, item_id, item_id) for item_id, sig in candidates]
        pending = {i for band in k.bands for i in self.pending_bands.get(band, ())}
        scored += [(similarity(k.signature, self.pending_signatures[i]), 1, -i, i) for i in pending]
        best = max(scored, default=None)
        if best is None or best[0] < self.near_threshold:
            return None
        if best[3] not in self.stored:
            self._load_items([best[3]])
        return best[3]

    def _new_item(self, k: Keyed, source_id: int) -> int:
        entry = k.entry
        item_id = -len(self.new_items) - 1
        self.new_items.append(dict(
            url=entry.url, title=entry.title, text=entry.text, publisher=entry.publisher, author=entry.author,
            published=to_db(entry.published or self.now), first_seen=to_db(self.now), content_hash=k.content_hash,
            note=entry.error, origin_source=source_id))
        if k.signature is not None:
            self.signatures.append({"item_id": item_id, "signature": k.signature})
            self.bands.append((item_id, k.bands))
            if self.near_threshold < 1.0:
                self.pending_signatures[item_id] = k.signature
                for b in k.bands:
                    self.pending_bands.setdefault(b, []).append(item_id)
        self.stored[item_id] = (k.content_hash, source_id)
        return item_id

    def write(self) -> None:
        """Insert the new items, then everything that refers to them by their real ids."""
        conn = self.conn
        ids = _insert_ids(conn, t.items, self.new_items) if self.new_items else []
        for rows in (self.links, self.signatures):
            for row in rows:
                if row["item_id"] < 0:
                    row["item_id"] = ids[-row["item_id"] - 1]
        for table, rows in ((t.item_sources, self.links), (t.item_signatures, self.signatures)):
            if rows:
                conn.execute(insert(table), rows)
        if self.new_keys:
            _insert_plain(conn, t.item_keys,
                          [(key, ids[-item - 1] if item < 0 else item) for key, item in self.new_keys])
        if self.bands:  # an item has 32: tuples, not a dict each
            _insert_plain(conn, t.item_bands, [(band, ids[-item - 1]) for item, bands in self.bands for band in bands])


def _insert_ids(conn, table, rows: list[dict]) -> list[int]:
    """Insert new rows; their ids, in order. SQLAlchemy returns ids in order from SQLite only by inserting one row
    per statement. SQLite gives a row the id after the largest, and once the first insert holds the database's
    write lock no other writer can come between: the rest take the ids after it, in one executemany."""
    if conn.dialect.name != "sqlite":
        return conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                            rows).scalars().all()
    first = conn.execute(insert(table).returning(table.c.id), rows[0]).scalar_one()
    if len(rows) > 1:
        conn.execute(insert(table), [dict(row, id=first + n) for n, row in enumerate(rows[1:], 1)])
    return list(range(first, first + len(rows)))


def _insert_plain(conn, table, rows: list[tuple]) -> None:
    """Rows of plain values, one per column (a text key first), handed straight to the driver: for rows this small,
    what SQLAlchemy does for each row of an executemany costs more than the insert (an item has 32 LSH bands, a
    story 40 index terms). They go in the order of the key, the column their table is ordered by: its B-tree then
    takes them in one pass over its pages instead of at random places (a third faster for the bands of a few
    hundred items)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(column.name for column in table.c)
    marks = ", ".join([mark] * len(table.c))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", sorted(rows))


def story_index_terms(centroid: dict[str, float]) -> list[tuple[str, float]]:
    """The terms a story is found by when new items arrive, with their weights in its profile scaled to length 1:
    its strongest ones. An item joins a story by the cosine of its vector with the story's profile, which the
    terms they share most strongly dominate."""
    norm = sqrt(sum(w * w for w in centroid.values())) or 1.0
    strongest = sorted(centroid, key=lambda term: (-centroid[term], term))[:STORY_INDEX_TERMS]
    return [(term, round(centroid[term] / norm, 6)) for term in strongest]


def _parsed(texts: list) -> list:
    """Many small JSON texts, parsed as one array: a call per text costs as much again. A driver that gave the
    values parsed already (PostgreSQL's, for JSON columns) has them passed through."""
    if all(isinstance(x, str) for x in texts):
        return json.loads(f"[{','.join(texts)}]") if texts else []
    return [json.loads(x) if isinstance(x, str) else x for x in texts]


def _pending_work():
    """Items still to place or to check. Written as the partial index of such items (`ix_items_pending`, migration
    0021) is defined, so that SQLite reads them from it instead of every item of the store."""
    c = t.items.c
    return c.routed.is_(None) | c.checked.is_(None) | (c.checked != c.content_hash)


def _storable(number: int) -> bool:
    """Whether an id someone typed fits the database's integers (64 bits): one that does not names nothing."""
    return -2**63 <= number < 2**63


def _chunks(seq: list, size: int) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


