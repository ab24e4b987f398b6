"""The stages, in order: fetch -> parse -> extract -> dedupe -> cluster -> check -> write -> publish.

`run` calls them one after another. Each stage works only on what changed since it last ran and commits one unit
at a time (a source, an item, a story), so a crash or a second run never loses or doubles anything.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path
from urllib.parse import urlsplit

from tidings import cluster, dedupe
from tidings.check.kb import load_kb
from tidings.check.stage import begin_check, check_items
from tidings.config import CONFIG_NAME, Config, Settings
from tidings.errors import PublishError, SetupError, StoreError
from tidings.ingest import Session, complete_teasers, read_source, teasers_of, unchanged_file
from tidings.ingest.fetch import is_local
from tidings.ingest.schedule import after_read, is_due
from tidings.model import Entry, FetchResult, Polling, Source
from tidings.publish import site as site_stage
from tidings.publish.site import publish_site
from tidings.store import IngestCounts, SourceRead, Store, missing_store
from tidings.text import counted
from tidings.workers import in_processes, starting_worker, warm
from tidings.write import revise as write_stage
from tidings.write.revise import WriteStats, revise

log = logging.getLogger("tidings")

FETCH_WORKERS = 8  # remote sources read at once; local files are read in turn (threads only add contention)
# Sources stored per transaction: a commit per source costs more than storing a small feed's entries.
STORE_BATCH = 200
LOCAL_READS_IN_PROCESSES = 400  # local files read by worker processes, when a run reads at least this many
STORE_BATCH_ENTRIES = 8000


class Reporter:
    """Where stage progress goes. This one reports nothing; the CLI brings a progress bar or log lines."""

    def stage(self, name: str, total: int) -> AbstractContextManager[StageProgress]:
        return nullcontext(StageProgress())

    def done(self, name: str, summary: str) -> None:
        pass


class StageProgress:
    def advance(self, n: int = 1) -> None:
        pass


@dataclass(frozen=True)
class RunStats:
    sources: int = 0
    sources_ok: int = 0
    sources_unchanged: int = 0
    sources_failed: int = 0
    items_new: int = 0
    items_linked: int = 0
    items_updated: int = 0
    items_placed: int = 0
    stories_new: int = 0
    revisions: int = 0
    site: Path | None = None
    errors: tuple[str, ...] = field(default=())
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    publish_error: str | None = None  # why the site could not be written (everything else was stored)
    stopped: bool = False  # asked to stop, it left some stages to the next run
    writer: WriteStats = field(default_factory=WriteStats)  # what the write stage did: requests, tokens, drops

    @property
    def failed(self) -> bool:
        """Nothing could be processed: every source failed."""
        return self.sources > 0 and self.sources_failed == self.sources


def existing_store(config: Config) -> None:
    """Stop with one line when the config's store is a SQLite file that does not exist yet."""
    path = missing_store(config.db_url)
    if path is not None:
        make = f"'tidings run' makes it (with {config.path})" if config.path else \
            f"there is no ./{CONFIG_NAME} here either: 'tidings init' writes one, then 'tidings run' makes the store"
        raise StoreError(f"{path}: no store there yet; {make}, or point -c or --db at an existing store")


def ready_to_run(config: Config) -> None:
    """A run needs at least one digest: without one, items would have no story to join."""
    if not config.digests:
        where = config.path or f"./{CONFIG_NAME} (there is none here)"
        raise SetupError(f"{where}: no digest is defined, so items would have no story to join; run "
                         "'tidings init' for a starter config, or add a [[digests]] table with a slug")


def sync_config(config: Config, store: Store, now: datetime, for_run: bool = True) -> None:
    """Make the store's digests and sources match the config (sources added by the CLI are kept)."""
    if for_run:
        ready_to_run(config)
    store.sync_digests(config.digests)
    for url in store.sync_sources(config.sources, now):
        log.info(f"source {url}: no longer in {config.path}; it is not read any more (its items stay)")


def chosen_sources(store: Store, only: Sequence[str] | None, now: datetime | None = None,
                   due_only: bool = False) -> list[Source]:
    """The sources a run reads: all of them but those gone for good, or those named by URL or id; with `due_only`,
    only those whose next check has come (a scheduled run)."""
    every = store.sources(item_counts=False)
    if not every:
        raise SetupError("no sources to read; add one with 'tidings sources add URL' or a [[sources]] table "
                         "in tidings.toml")
    if only is None:
        if due_only:
            return [s for s in every if is_due(s, now or datetime.now(UTC))]
        return [s for s in every if s.status != "gone"]
    wanted = set(only)
    chosen = [s for s in every if s.url in wanted or str(s.id) in wanted]
    unknown = wanted - {s.url for s in chosen} - {str(s.id) for s in chosen}
    if unknown:
        raise SetupError(f"no source {sorted(unknown)[0]!r}; 'tidings sources list' shows their ids and URLs")
    return chosen


@dataclass(frozen=True)
class Schedule:
    """How a run reads its sources: all of them or only the due ones, with what period (`every`, seconds, when
    runs repeat), and an event that asks the run to stop after the unit it is in."""

    due_only: bool = False
    every: float | None = None
    stop: threading.Event | None = None

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()


def fetch_stage(config: Config, store: Store, sources: Sequence[Source], now: datetime,
                reporter: Reporter, schedule: Schedule | None = None) -> tuple[dict[str, int], list[str]]:
    """Read every source (several at once, politely per host), then store each one's entries in its own
    transaction, in the order the sources were listed. Sources not read when the run's deadline passes, or when
    the run is asked to stop, are left for the next run."""
    schedule = schedule or Schedule()
    counts = {"ok": 0, "unchanged": 0, "failed": 0, "new": 0, "linked": 0, "updated": 0, "deferred": 0}
    errors: list[str] = []

    # Entries are stored in batches, so a teaser whose article a source read earlier in this run carries whole is
    # known by the entries read so far too, and its page is not fetched.
    read_keys: set[str] = set()
    keying = threading.Lock()  # readers ask from worker threads, several at once

    def known(entry: Entry) -> bool:
        keys = dedupe.global_keys(entry)
        with keying:
            if any(k in read_keys for k in keys):
                return True
        return store.has_any_key(keys)

    settings = config.settings
    if not sources and schedule.due_only:
        upcoming = [s.next_check for s in store.sources(item_counts=False) if s.status != "gone" and s.next_check]
        when = f"; the next is due at {min(upcoming):%Y-%m-%d %H:%M} UTC" if upcoming else ""
        reporter.done("fetch", f"no source is due{when}")
        return counts, errors
    deadline = time.monotonic() + settings.run_deadline
    rng = random.Random()
    pool = ThreadPoolExecutor(max_workers=FETCH_WORKERS)
    local_reads = None
    try:
        with reporter.stage("fetch", len(sources)) as bar, Session.open(settings) as session:
            caches = store.source_caches([s.id for s in sources])

            def read(s: Source) -> FetchResult:  # a remote source
                cache = caches[s.id]
                return read_source(s, settings, cache[:3], known=known, session=session, now=now, seen=cache[3])

            # Remote sources are read at once, by threads that mostly wait for the network. Local files are read
            # in turn (threads would only contend for the interpreter), by worker processes when there are many:
            # they read ahead while this process stores. Their teasers' pages are fetched here, where the store
            # says which are known.
            remote = {s.id: pool.submit(read, s) for s in by_host_in_turn(s for s in sources if not is_local(s.url))}
            # A file whose bytes are the same as at its last read is known here; only the others are parsed.
            same = {s.id for s in sources if is_local(s.url) and unchanged_file(s, settings, caches[s.id][0])}
            jobs = [(s, caches[s.id][:3], caches[s.id][3], now) for s in sources
                    if is_local(s.url) and s.id not in same]
            local_reads = in_processes(_read_and_key, jobs, _Reading(settings), settings.processes,
                                       min_tasks=LOCAL_READS_IN_PROCESSES)

            prekeyed: dict[int, tuple[dedupe.Keyed, ...]] = {}  # the entries a worker keyed, by source

            def read_next_local(s: Source) -> FetchResult:
                if s.id in same:
                    return FetchResult(s, unchanged=True, content_hash=caches[s.id][0])
                result, prekeyed[s.id], teasers = next(local_reads)
                while result.source.id != s.id:  # one left unread when the run's deadline passed
                    result, prekeyed[s.id], teasers = next(local_reads)
                if not settings.fetch_full_text or not teasers:
                    return result
                return complete_teasers(result, session, known, teasers=teasers)

            pending: list[tuple[FetchResult, Polling, list[dedupe.Keyed]]] = []
            entries = 0  # in `pending`
            for source in sources:
                if schedule.stopping:
                    break
                result = _wait(source, remote.get(source.id), read_next_local, deadline, settings.run_deadline)
                if result is None:
                    counts["deferred"] += 1
                    continue
                keyed = _keyed(result, prekeyed.pop(source.id, ()))
                with keying:
                    read_keys.update(key for k in keyed for key in k.keys)
                pending.append((result, after_read(source, result, now, settings, schedule.every, rng), keyed))
                entries += len(keyed)
                if len(pending) >= STORE_BATCH or entries >= STORE_BATCH_ENTRIES:
                    _store_results(store, pending, now, counts, errors, settings.near_duplicate_threshold)
                    bar.advance(len(pending))
                    pending, entries = [], 0
            _store_results(store, pending, now, counts, errors, settings.near_duplicate_threshold)
            bar.advance(len(pending))
    finally:
        # Reads still under way when the deadline passed end by their own deadlines; nobody waits for them.
        pool.shutdown(wait=False, cancel_futures=True)
        if local_reads is not None:
            local_reads.close()  # stops the worker processes, if any are still reading ahead
    late = f", {counts['deferred']} left for the next run" if counts["deferred"] else ""
    reporter.done("fetch", f"{len(sources)} sources: {counts['ok']} read, {counts['unchanged']} unchanged, "
                           f"{counts['failed']} failed{late}; {counts['new']} new items, {counts['linked']} also "
                           f"carried by another source, {counts['updated']} updated")
    if counts["deferred"] and not schedule.stopping:
        message = (f"{counts['deferred']} sources not read within the run's {settings.run_deadline:g}s "
                   "([settings] run_deadline); they are read first next time")
        log.warning(message)
        errors.append(message)
    return counts, errors


def by_host_in_turn(sources: Iterable[Source]) -> list[Source]:
    """Sources reordered so that hosts take turns: a publisher's feeds listed together would otherwise fill every
    worker with requests waiting for that one host's politeness delay while other hosts sit idle."""
    queues: dict[str, list[Source]] = {}
    for s in sources:
        queues.setdefault((urlsplit(s.url).hostname or "").lower(), []).append(s)
    return [s for turn in zip_longest(*queues.values()) for s in turn if s is not None]


def _wait(source: Source, future: Future | None, read, deadline: float, allowed: float) -> FetchResult | None:
    """A source's reading, or None if the run's deadline passes first."""
    remaining = deadline - time.monotonic()
    try:
        if future is None:
            return read(source) if remaining > 0 else None
        return future.result(timeout=max(remaining, 0))
    except FutureTimeout:
        future.cancel()
        return None
    except Exception as exc:  # a bug met by one hostile source must not end the run
        log.exception("reading %s failed", source.url)
        return FetchResult(source, status="error", error=f"{source.url}: unexpected error: "
                                                         f"{type(exc).__name__}: {exc}")


@dataclass
class _Reading:
    """What the local reads of a run share: its settings, and the keys of the entries read so far (each worker
    process has its own copy, made when it starts)."""

    settings: Settings
    keys: set[str] = field(default_factory=set)


def _read_and_key(reading: _Reading, job: tuple
                  ) -> tuple[FetchResult, tuple[dedupe.Keyed, ...], frozenset[int]]:
    """A local source's read, with its entries keyed and their MinHash signatures made, and which are teasers:
    what a worker process does, so that the process storing the reads has less to do."""
    source, cache, seen, now = job
    settings = reading.settings
    try:
        # Its teasers' pages are fetched by the run's process, where the store says which are known.
        result = read_source(source, settings, cache, now=now, seen=seen, complete=False)
        keyed = tuple(dedupe.keyed(e, source.id) for e in result.entries)
        # An entry under a key that a source read before it carried (a publisher's feeds overlap) is that item
        # again: stored by then, it is known by the key and needs no signature. Should it not be (its source
        # failed to store), the store signs it.
        fresh = [k for k in keyed if reading.keys.isdisjoint(k.keys)]
        reading.keys.update(key for k in keyed for key in k.keys)
        dedupe.sign_all(fresh)
        for k in fresh:
            k.bands  # noqa: B018  # made here, and kept with the entry (a cached property)
        return result, keyed, teasers_of(result, settings)
    except Exception as exc:  # one answer for each source, always: a bug met by one file costs only that file
        log.exception("reading %s failed", source.url)
        failed = FetchResult(source, status="error", error=f"{source.url}: unexpected error: {type(exc).__name__}: "
                                                           f"{exc}")
        return failed, (), frozenset()


def _keyed(result: FetchResult, done: Sequence[dedupe.Keyed]) -> list[dedupe.Keyed]:
    """The read's entries with their dedupe keys: those keyed already (by a worker) as they were, the others (a
    teaser completed since, or every entry of a source read here) now."""
    ready = {id(k.entry): k for k in done}
    return [ready.get(id(e)) or dedupe.keyed(e, result.source.id) for e in result.entries]


def _store_results(store: Store, pending: list[tuple[FetchResult, Polling, list[dedupe.Keyed]]], now: datetime,
                   counts: dict[str, int], errors: list[str], near_threshold: float) -> None:
    """Store several sources' reads in one transaction; if that fails, each in its own, so that one source the
    store cannot take costs only that source."""
    if not pending:
        return
    reads = [_as_read(result, polling, keyed) for result, polling, keyed in pending]
    try:
        got: list[IngestCounts | SourceRead] = list(store.ingest_reads(reads, now, near_threshold))
    except StoreError:
        got = [_store_alone(store, read, now, near_threshold) for read in reads]
    for (result, polling, _), outcome in zip(pending, got, strict=True):
        if isinstance(outcome, SourceRead):  # the store could not take it: it is recorded as failed
            result, polling = FetchResult(result.source, status="error", error=outcome.error), outcome.polling
        _tally(result, polling, outcome if isinstance(outcome, IngestCounts) else None, counts, errors)


def _as_read(result: FetchResult, polling: Polling, keyed: list[dedupe.Keyed]) -> SourceRead:
    source = result.source
    if result.unchanged:
        return SourceRead(source, status="ok", polling=polling)
    if result.status == "error":
        return SourceRead(source, status=polling.status, error=polling.error, polling=polling, kind=result.kind)
    return SourceRead(source, keyed, result.status, result.error,
                      result.content_hash, result.etag, result.last_modified, result.title, polling, result.kind,
                      result.prints)


def _store_alone(store: Store, read: SourceRead, now: datetime, near_threshold: float
                 ) -> IngestCounts | SourceRead:
    """Store one source's read in its own transaction; if the store cannot take it (the transaction rolled back,
    nothing of it half-stored), record the source as failed and return that record."""
    try:
        return store.ingest_reads([read], now, near_threshold)[0]
    except StoreError as exc:
        reason = str(exc).split(": ", 1)[-1]
        error = f"{read.source.url}: cannot store: {reason}"
        assert read.polling is not None
        failed = SourceRead(read.source, status="error", error=error, kind=read.kind,
                            polling=replace(read.polling, status="error", error=error, succeeded=False))
        store.ingest_reads([failed], now, near_threshold)
        return failed


def _tally(result: FetchResult, polling: Polling, got: IngestCounts | None, counts: dict[str, int],
           errors: list[str]) -> None:
    """Count what a source's read gave, and say what went wrong with it."""
    source = result.source
    label = f"source {source.label!r}" if source.label else "source"
    if result.unchanged:
        counts["unchanged"] += 1
        return
    if result.status == "error" or got is None:
        counts["failed"] += 1
        message = f"{label}: {polling.error}"
        if polling.next_check is not None:
            message += f"; next try after {polling.next_check:%Y-%m-%d %H:%M} UTC"
        errors.append(message)
        log.error(message)
        return
    if result.error:
        log.warning(f"{label}: {result.error}")
        errors.append(f"{label}: {result.error}")
    for entry in result.entries:
        if entry.error:
            log.warning(f"{label}: {entry.url}: {entry.error}")
    counts["ok"] += 1
    counts["new"] += got.new
    counts["linked"] += got.linked
    counts["updated"] += got.updated


def run(config: Config, store: Store | None = None, now: datetime | None = None,
        sources: Sequence[str] | None = None, publish: bool = True, reporter: Reporter | None = None,
        wait: bool = True, schedule: Schedule | None = None) -> RunStats:
    """One full pass of every stage. `sources` limits the fetch to those URLs (default: every source that is not
    gone; with `schedule.due_only`, those due). The run holds the store throughout: a second run waits for it, or
    with `wait=False` stops with a one-line error. When `schedule.stop` is set, the run stops after the unit it is
    in (a source's storing, or a stage), leaving the rest to the next run."""
    if starting_worker():
        raise SetupError("tidings.run() was called by a worker process as it started, which imports the main "
                         "script again: put the script's call under `if __name__ == '__main__':`")
    reporter = reporter or Reporter()
    ready_to_run(config)  # before a store is made for a run that cannot start
    own_store = store is None
    store = store or Store(config.db_url)
    try:
        with store.run_lock(wait):
            # The run's time is when it starts work, not when it began waiting for the run before it to finish.
            return _run(config, store, now or datetime.now(UTC), sources, publish, reporter, schedule or Schedule())
    finally:
        if own_store:
            store.close()


def _run(config: Config, store: Store, now: datetime, sources: Sequence[str] | None, publish: bool,
         reporter: Reporter, schedule: Schedule) -> RunStats:
    clock = time.perf_counter()
    seconds = {}

    def lap(stage: str) -> None:
        nonlocal clock
        seconds[stage] = time.perf_counter() - clock
        clock = time.perf_counter()

    if sum(is_local(s.url) for s in config.sources) >= LOCAL_READS_IN_PROCESSES:
        # Worker processes will read them: their server imports the stage modules while this process gets ready.
        warm(config.settings.processes)
    sync_config(config, store, now)
    chosen = chosen_sources(store, sources, now, schedule.due_only)
    counts, errors = fetch_stage(config, store, chosen, now, reporter, schedule)
    lap("fetch")
    stats = RunStats(sources=len(chosen), sources_ok=counts["ok"], sources_unchanged=counts["unchanged"],
                     sources_failed=counts["failed"], items_new=counts["new"], items_linked=counts["linked"],
                     items_updated=counts["updated"], errors=tuple(errors), seconds=seconds, stopped=True)
    if schedule.stopping:
        return stats

    knowledge = load_kb(config.kb)
    for problem in knowledge.errors:
        log.warning(f"{problem} (skipped; the built-in KB is used)")
    # Claims are read by worker processes (when there are many) while this process clusters.
    to_place, to_check = store.new_work()
    begun = begin_check(store, knowledge, config.settings.processes, to_check)
    unrouted = len(to_place)
    if unrouted >= min(write_stage.IN_PROCESSES, site_stage.IN_PROCESSES):
        # So many new items will have many stories to write and render, by worker processes: their server starts
        # now, on another processor, and is ready by then.
        warm(config.settings.processes)
    try:
        with reporter.stage("cluster", unrouted) as bar:
            placed = cluster.assign(store, config.settings, store.digests(), store.sources(item_counts=False), now,
                                    bar.advance, to_place)
        reporter.done("cluster", f"{counted(placed.items, 'item')} placed, "
                                 f"{counted(placed.new_stories, 'new story', 'new stories')}, "
                                 f"{placed.unrouted} fit no digest")
        lap("cluster")
        if schedule.stopping:
            return replace(stats, items_placed=placed.items, stories_new=placed.new_stories)
        with reporter.stage("check", len(begun.items)) as bar:
            checked = check_items(store, knowledge, bar.advance, begun=begun)
    finally:
        begun.close()
    reporter.done("check", f"{checked['items']} items checked: {checked['claims']} claims, "
                           f"{checked['contradicted']} contradicted by the knowledge base")
    lap("check")
    if schedule.stopping:
        return replace(stats, items_placed=placed.items, stories_new=placed.new_stories)

    to_revise = store.stories_to_revise()
    with reporter.stage("write", len(to_revise)) as bar:
        written = revise(store, config.settings, now, bar.advance, knowledge.display_names, knowledge,
                         config.writer, lambda: schedule.stopping, to_revise)
    reporter.done("write", f"{written.revised} stories revised ({written.first} new){writer_report(written)}")
    lap("write")

    site, publish_error = None, None
    if publish and not schedule.stopping:
        try:
            with reporter.stage("publish", 1) as bar:
                site_stats = publish_site(store, config.resolve(config.site_dir), config.site_url,
                                          processes=config.settings.processes)
                bar.advance()
        except PublishError as exc:  # everything before is stored; only the site could not be written
            publish_error = str(exc)
            log.error(publish_error)
        else:
            site = site_stats.path
            for problem in site_stats.errors:
                log.error(problem)
            errors.extend(site_stats.errors)
            reporter.done("publish", f"{site_stats.stories} stories ({site_stats.rendered} rendered now), "
                                     f"{site_stats.revisions} revisions -> {site}")
        lap("publish")
    return replace(stats, items_placed=placed.items, stories_new=placed.new_stories, revisions=written.revised,
                   writer=written, site=site, errors=tuple(errors), publish_error=publish_error,
                   stopped=schedule.stopping)


def writer_report(written: WriteStats) -> str:
    """What a model writer cost and what the check took out, when there is anything to say."""
    parts = []
    if written.requests or written.reused:
        parts.append(f"{written.requests} model request{'s' * (written.requests != 1)}"
                     + (f" ({written.tokens:,} tokens)" if written.tokens else "")
                     + (f", {written.reused} answered from the store" if written.reused else ""))
    if written.dropped:
        parts.append(f"{written.dropped} sentence{'s' * (written.dropped != 1)} dropped by the grounding check")
    if written.fallbacks:
        parts.append(f"{written.fallbacks} revision{'s' * (written.fallbacks != 1)} by the extractive writer "
                     f"instead")
    return "; " + "; ".join(parts) if parts else ""


def run_every(config: Config, every: float, stop: threading.Event, reporter: Reporter | None = None,
              publish: bool = True, wait: bool = True,
              on_run: Callable[[RunStats], None] | None = None) -> int:
    """Run again and again, reading only the sources that are due, `every` seconds apart (give or take a tenth,
    so that several tidings on one server drift apart), until `stop` is set. A store that cannot be reached is
    logged and tried again at the next turn. Returns how many runs were made."""
    rng = random.Random()
    runs = 0
    while not stop.is_set():
        try:
            stats = run(config, reporter=reporter, publish=publish, wait=wait,
                        schedule=Schedule(due_only=True, every=every, stop=stop))
        except StoreError as exc:
            log.error(f"{exc}; trying again in {every:g}s")
        else:
            runs += 1
            if on_run is not None:
                on_run(stats)
        stop.wait(every * rng.uniform(0.9, 1.1))
    return runs


@contextmanager
def opened(config: Config, existing: bool = True) -> Iterator[Store]:
    """The config's store; with `existing`, only one that is there already (a command that only reads it would
    otherwise leave an empty store behind, in a folder that was perhaps the wrong one)."""
    if existing:
        existing_store(config)
    store = Store(config.db_url)
    try:
        yield store
    finally:
        store.close()
