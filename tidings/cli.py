"""The `tidings` command: each command parses its options, calls one library function and prints."""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from difflib import SequenceMatcher
from functools import cached_property, partial
from pathlib import Path

import click

from tidings import __version__
from tidings.config import CONFIG_NAME, Config, load_config, write_starter
from tidings.errors import TidingsError
from tidings.ingest.feeds import FeedError, read_opml, write_opml
from tidings.pipeline import RunStats, Schedule, opened, run, run_every, sync_config, writer_report
from tidings.progress import reporter_for
from tidings.publish.serialize import iso
from tidings.sources import add_source, check_digests, import_sources, remove_source
from tidings.text import counted


@dataclass
class Context:
    config_path: str | None
    db: str | None
    quiet: bool

    @cached_property
    def config(self) -> Config:
        config = load_config(self.config_path)
        return replace(config, db=self.db) if self.db else config


pass_ctx = click.make_pass_decorator(Context)


class Group(click.Group):
    """Every error tidings reports (`TidingsError`) ends a command with its one line and exit status 1."""

    group_class = type  # its groups are Groups too

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            # "tidings story list" for "tidings stories list": name the group that has the command.
            parent = ctx.parent.command if ctx.parent else None
            name = args[0] if args else ""
            if isinstance(parent, click.Group) and name:
                having = [other for other, group in parent.commands.items() if other != self.name
                          and isinstance(group, click.Group) and name in group.commands]
                if having:  # the group named most like this one ("stories" for "story")
                    other = max(having, key=lambda g: SequenceMatcher(None, g, self.name or "").ratio())
                    raise click.UsageError(f"No such command {name!r} here; did you mean "
                                           f"'{ctx.find_root().info_name} {other} {name}'?", ctx) from None
            raise

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TidingsError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            raise  # the reader went away ("tidings search x | head"): click ends quietly
        except OSError as exc:  # a file or folder the command was pointed at (missing, read-only, a full disk)
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tidings")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
              help=f"Config file (default: ./{CONFIG_NAME} if present).")
@click.option("--db", help="Database: a SQLite file path or a URL (overrides the config).")
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db: str | None, verbose: int, quiet: bool) -> None:
    """tidings: living topic digests that cite every sentence and check their own facts."""
    if db is not None and not db.strip():
        raise click.ClickException("--db is empty: give a SQLite file path or a database URL")
    level = logging.ERROR if quiet else logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr, force=True)
    ctx.obj = Context(config_path, db, quiet)


@cli.command()
@click.argument("path", default=CONFIG_NAME, type=click.Path(dir_okay=False))
def init(path: str) -> None:
    """Write a commented starter config file."""
    write_starter(Path(path))
    click.echo(f"Wrote {path}. Add sources with 'tidings sources add URL', then 'tidings run'.")


# --- sources -----------------------------------------------------------------------------------------------

class _WholeFile:
    """A regular file written whole: under a temporary name beside it (its folder made when the first text
    comes), renamed over it by `commit` only; `discard` drops an unfinished one, so an interrupted command leaves
    the file as it was."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self._path = path
        self._temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._file = None

    def write(self, text: str) -> int:
        if self._file is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self._temporary, "w", encoding="utf-8")  # noqa: SIM115 - closed by commit/discard
        return self._file.write(text)

    def commit(self) -> None:
        if self._file is None:
            self.write("")
        self._file.close()
        os.replace(self._temporary, self._path)

    def discard(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
            self._temporary.unlink(missing_ok=True)


class OutputFile(click.ParamType):
    """A file to write: `-` is stdout; a regular file is written whole (see `_WholeFile`), its folder made if it
    does not exist yet; anything else that is there already (a device, a pipe) is written as it is."""

    name = "file"

    def __init__(self, example: str) -> None:
        self.example = example  # a file name to suggest when a folder is given

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        if value == "-":
            return click.open_file("-", "w")  # stdout, left open
        path = Path(value).expanduser()
        if path.is_dir():
            self.fail(f"{value} is a folder; give a file in it, such as {Path(value) / self.example}", param, ctx)
        if path.exists() and not path.is_file():
            stream = click.open_file(str(path), "w", encoding="utf-8")
            ctx.call_on_close(stream.close)
            return stream
        whole = _WholeFile(path)
        ctx.call_on_close(whole.discard)  # after `_written` committed it, nothing is left to drop
        return whole


def _written(obj: Context, output, what: str) -> None:
    """Put a file written whole in place and say where it went (nothing for stdout or a device, whose reader has
    it)."""
    if not isinstance(output, _WholeFile):
        return
    output.commit()  # renamed into place, now: only then is it written
    if not obj.quiet:
        click.echo(f"{what} written to {output.name}", err=True)


@cli.group()
def sources() -> None:
    """Add, list, remove, import and export sources."""


@sources.command("add")
@click.argument("url")
@click.option("--name", default="", help="Publisher name shown under Sources (default: the feed's title).")
@click.option("--digest", "digests", multiple=True, help="Digest slug this source feeds (repeatable; default all).")
@click.option("--credibility", type=click.FloatRange(0, 1), help="Your judgement of the publisher, 0..1.")
@click.option("--kind", type=click.Choice(["feed", "page"]),
              help="Read it as this (default: look at it; a page that links its feed is replaced by the feed).")
@pass_ctx
def sources_add(obj: Context, url: str, name: str, digests: tuple[str, ...], credibility: float | None,
                kind: str | None) -> None:
    """Add a feed or page URL, or a local file."""
    config = obj.config
    with opened(config, existing=False) as store:
        added = add_source(store, config, url, name, digests, credibility, datetime.now(UTC), kind or "")
    if added.note:
        click.echo(added.note)
    click.echo(f"Source {added.source.id}: {added.source.url}")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def sources_list(obj: Context, as_json: bool) -> None:
    """List sources with their status, last error and item count."""
    config = obj.config
    with opened(config) as store:
        sync_config(config, store, datetime.now(UTC), for_run=False)
        found = store.sources()
    if as_json:
        click.echo(json.dumps([{"id": s.id, "url": s.url, "name": s.name, "title": s.title, "kind": s.kind,
                                "digests": list(s.digests), "credibility": s.credibility, "status": s.status,
                                "last_error": s.last_error, "items": s.item_count,
                                "last_success": iso(s.last_success), "last_read": iso(s.last_fetched),
                                "consecutive_errors": s.consecutive_errors, "next_check": iso(s.next_check),
                                "check_interval_seconds": s.check_interval} for s in found], indent=2))
        return
    if not found:
        click.echo("no sources yet: add one with 'tidings sources add URL' (or in the config)", err=True)
    now = datetime.now(UTC)
    for s in found:
        items = f"{s.item_count:>5} item{'' if s.item_count == 1 else 's'}"
        click.echo(f"{s.id:>4}  {s.status:<8} {items:<11}  {s.label or '-'}  {s.url}")
        click.echo(f"      {_health(s, now)}")
        if s.last_error:
            click.echo(f"      last error: {s.last_error}")


def _health(s, now: datetime) -> str:
    """When a source was last read well, how many reads failed since, and when it is read next."""
    parts = [f"last success {_when(s.last_success) if s.last_success else 'never'}"]
    if s.consecutive_errors:
        parts.append(f"{s.consecutive_errors} failed read{'s' if s.consecutive_errors > 1 else ''} in a row")
    if s.status == "gone":
        parts.append("not read again (gone)")
    elif s.next_check is None or s.next_check <= now:
        parts.append("next check: due now")
    else:
        parts.append(f"next check {_when(s.next_check)}")
    return " · ".join(parts)


def _when(dt: datetime) -> str:
    return f"{dt:%Y-%m-%d %H:%M} UTC"


@sources.command("check")
@click.argument("source")
@pass_ctx
def sources_check(obj: Context, source: str) -> None:
    """Fetch and read one source (a URL, a path, or a stored source's id) and say what it holds, storing nothing."""
    from tidings.sources import check_source

    result = check_source(obj.config, source)
    if result.status == "error":
        raise click.ClickException(result.error or f"{source}: unreadable")
    title = f" ({result.title})" if result.title else ""
    warning = f"; warning: {result.error}" if result.error else ""
    click.echo(f"{result.source.url}: {len(result.entries)} entries{title}{warning}")
    for entry in result.entries[:10]:
        when = f"{entry.published:%Y-%m-%d}" if entry.published else "undated"
        click.echo(f"  {when}  {entry.title[:90]}  {entry.url or '(no link)'}")
    if len(result.entries) > 10:
        click.echo(f"  … and {len(result.entries) - 10} more")


@sources.command("remove")
@click.argument("source")
@pass_ctx
def sources_remove(obj: Context, source: str) -> None:
    """Remove a source, by id, URL or path (the items it brought stay)."""
    config = obj.config
    with opened(config) as store:
        found, in_config = remove_source(store, config, source)
    if in_config:
        click.echo(f"Removed source {found.id} ({found.url}) from the store, but {config.path} still lists it, "
                   "so the next command that reads the config adds it again: delete it there to remove it.")
    else:
        click.echo(f"Removed source {found.id} ({found.url})")


@sources.command("import")
@click.argument("opml", type=click.File("rb"))
@click.option("--digest", "digests", multiple=True, help="Digest for outlines that name none.")
@click.option("--local", "local_files", is_flag=True,
              help="Also import entries that are local file paths (for a list you made, as 'sources export' "
                   "writes it; someone else's list could name any file on this machine).")
@pass_ctx
def sources_import(obj: Context, opml, digests: tuple[str, ...], local_files: bool) -> None:
    """Import sources from an OPML file."""
    try:
        found = read_opml(opml.read(), digests)
    except FeedError as exc:
        raise click.ClickException(f"{opml.name}: {exc}") from None
    config = obj.config
    with opened(config, existing=False) as store:
        check_digests(store, config, digests)  # a --digest typo is one error, not one warning per entry
        added, skipped = import_sources(store, config, found, datetime.now(UTC), local_files=local_files)
    for line in skipped:
        click.echo(f"Warning: {line}", err=True)
    click.echo(f"Imported {counted(len(added), 'source')} from {opml.name}")


@sources.command("export")
@click.option("-o", "--output", type=OutputFile("sources.opml"), default="-", help="File to write (default: stdout).")
@pass_ctx
def sources_export(obj: Context, output) -> None:
    """Export sources as OPML."""
    config = obj.config
    with opened(config) as store:
        sync_config(config, store, datetime.now(UTC), for_run=False)
        output.write(write_opml(store.sources()))
    _written(obj, output, "sources")


# --- running and reading -----------------------------------------------------------------------------------

class Duration(click.ParamType):
    """A span of time: 90s, 30m, 2h, 1d, or combinations such as 1h30m."""

    name = "duration"
    _UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip().lower()
        parts = re.fullmatch(r"(?:\d+(?:\.\d+)?[smhd])+", text) and re.findall(r"(\d+(?:\.\d+)?)([smhd])", text)
        seconds = sum(float(n) * self._UNITS[u] for n, u in parts) if parts else None
        if seconds == 0:
            self.fail(f"{value!r} is no time at all; give a period such as 30m", param, ctx)
        if seconds is None:
            self.fail(f"{value!r} is not a duration; use a number with a unit, such as 90s, 30m, 2h or 1d",
                      param, ctx)
        return seconds


class Port(click.ParamType):
    """A TCP port to listen on, 1 to 65535."""

    name = "port"

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            number = int(text) if text.isascii() and text.isdigit() else None
        if number is None or not 1 <= number <= 65535:
            self.fail(f"{value!r} is not a port number; give one from 1 to 65535, such as 8080", param, ctx)
        return number


@cli.command("run")
@click.option("--no-publish", is_flag=True, help="Skip writing the static site.")
@click.option("--source", "only", multiple=True, help="Read only this source, by id or URL (repeatable).")
@click.option("--no-wait", is_flag=True, help="If another run holds the store, stop instead of waiting for it.")
@click.option("--every", type=Duration(), help="Keep running: a run every DURATION (30m, 1h, ...), each reading "
                                               "only the sources that are due. Ctrl-C or SIGTERM stops it.")
@click.option("--due", is_flag=True, help="Read only the sources that are due (not those waiting after errors).")
@pass_ctx
def run_cmd(obj: Context, no_publish: bool, only: tuple[str, ...], no_wait: bool, every: float | None,
            due: bool) -> None:
    """Fetch the sources, update stories, write revisions and publish the site."""
    if every and only:
        raise click.UsageError("--every reads the sources that are due; it cannot be combined with --source")
    with _stop_on_signals(obj.quiet) as stop:
        if every:
            run_every(obj.config, every, stop, reporter_for(obj.quiet), publish=not no_publish, wait=not no_wait,
                      on_run=partial(_report_run, obj, every=every))
            return
        stats = run(obj.config, sources=only or None, publish=not no_publish, reporter=reporter_for(obj.quiet),
                    wait=not no_wait, schedule=Schedule(due_only=due, stop=stop))
    _report_run(obj, stats)
    if stats.failed:
        raise click.ClickException(f"all {stats.sources} sources failed; nothing was processed")
    if stats.publish_error:
        raise click.ClickException(f"{stats.publish_error} (everything else was stored; "
                                   "run 'tidings publish' once that is fixed)")


def _report_run(obj: Context, stats: RunStats, every: float | None = None) -> None:
    if obj.quiet:
        return
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC: " if every else ""
    click.echo(f"{when}{stats.items_new} new items, {stats.stories_new} new stories, {stats.revisions} revisions"
               + writer_report(stats.writer)
               + (f"; site: {stats.site}" if stats.site else "")
               + ("; stopped early, the next run finishes the work" if stats.stopped else ""))


@contextmanager
def _stop_on_signals(quiet: bool) -> Iterator[threading.Event]:
    """SIGINT and SIGTERM ask the run to stop after the unit it is in, and the command then exits 0; a second
    signal stops at once."""
    stop = threading.Event()

    def asked(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if not quiet:
            click.echo(f"{signal.Signals(signum).name}: stopping after the current step "
                       "(again to stop at once)", err=True)

    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals reach only the main thread (tests may run commands elsewhere)
        return
    previous = {sig: signal.signal(sig, asked) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _known_digest(config: Config, store, slug: str | None) -> None:
    """A --digest that names no digest is a typo, not a digest without stories."""
    if slug is None:
        return
    known = {d.slug for d in config.digests} | {d.slug for d in store.digests()}
    if slug not in known:
        raise click.ClickException(f"no digest {slug!r} (digests: {', '.join(sorted(known)) or 'none yet'})")


@cli.group()
def stories() -> None:
    """List stories."""


@stories.command("list")
@click.option("--digest", help="Only this digest.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def stories_list(obj: Context, digest: str | None, as_json: bool) -> None:
    """List stories, most recently updated first."""
    with opened(obj.config) as store:
        _known_digest(obj.config, store, digest)
        found = store.stories(digest)
        if as_json:
            from tidings.publish.serialize import story_summary

            click.echo(json.dumps([story_summary(s, store.latest_revision(s.id)) for s in found], indent=2))
            return
    if not found:
        click.echo(f"no stories{f' in {digest!r}' if digest else ''} yet: 'tidings run' reads the sources and "
                   "makes them", err=True)
    for s in found:
        click.echo(f"{s.id:>5}  {s.digest:<12} {s.updated:%Y-%m-%d}  {len(s.item_ids):>3} src  "
                   f"r{s.revision_count:<3} {s.title}")


@cli.group()
def story() -> None:
    """Show one story."""


@story.command("show")
@click.argument("story_id", type=int)
@click.option("--revision", "number", type=int, help="Show this revision (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def story_show(obj: Context, story_id: int, number: int | None, as_json: bool) -> None:
    """Print a story's article, its sources and what changed."""
    from tidings.publish.serialize import revision_json
    from tidings.publish.text import article_text

    with opened(obj.config) as store:
        moved = store.redirects().get(story_id)
        if moved is not None:
            click.echo(f"Story {story_id} was merged into story {moved}.", err=True)
            story_id = moved
        found = store.story(story_id)
        revisions = store.revisions(story_id) if found else []
    if found is None:
        raise click.ClickException(f"no story {story_id}")
    chosen = [r for r in revisions if number is None or r.number == number]
    if not chosen:
        raise click.ClickException(f"story {story_id} has no revision {number} (it has {len(revisions)})")
    revision = chosen[-1]
    if as_json:
        click.echo(json.dumps({"id": found.id, "digest": found.digest, **revision_json(revision)}, indent=2))
    else:
        click.echo(article_text(found, revision))


@cli.command()
@click.option("--dir", "out_dir", type=click.Path(file_okay=False), help="Output folder (default: the config's).")
@click.option("--all", "everything", is_flag=True, help="Render every page again, not only what changed.")
@pass_ctx
def publish(obj: Context, out_dir: str | None, everything: bool) -> None:
    """Write the static site and Atom feeds (the pages that changed since the last publish to that folder)."""
    from tidings.publish.site import publish_site

    config = obj.config
    with opened(config) as store, store.run_lock():
        stats = publish_site(store, out_dir or config.resolve(config.site_dir), config.site_url, everything,
                             config.settings.processes)
    for problem in stats.errors:
        click.echo(f"Error: {problem}", err=True)
    click.echo(f"{stats.stories} stories in {stats.digests} digests ({stats.rendered} rendered now), "
               f"{stats.revisions} revisions -> {stats.path}")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.option("-o", "--output", type=OutputFile("export.json"), default="-",
              help="File to write (default: stdout).")
@pass_ctx
def export(obj: Context, fmt: str, output) -> None:
    """Export the whole state (digests, sources, items, stories, revisions)."""
    from tidings.publish.export import export_state

    with opened(obj.config) as store:
        json.dump(export_state(store), output, indent=2, ensure_ascii=False)
    output.write("\n")
    _written(obj, output, "state")


@cli.command()
@click.argument("query")
@click.option("--digest", help="Only items of this digest's stories.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@pass_ctx
def search(obj: Context, query: str, digest: str | None, limit: int) -> None:
    """Search the stored items: any of the words, best first; "quoted words" as a phrase."""
    from tidings.search import NOTHING_TO_SEARCH, SearchError, parse, plain
    from tidings.search import search as find

    if parse(query).empty:  # before the store is opened: what was typed is the first thing to put right
        raise SearchError(NOTHING_TO_SEARCH)
    with opened(obj.config) as store:
        _known_digest(obj.config, store, digest)
        found = find(store, query, digest=digest, limit=limit)
    if not found.hits:
        click.echo(f"no results for {query!r}", err=True)
    for hit in found.hits:
        where = ", ".join(f"story {k}" for k, _, _ in hit.stories)
        click.echo(f"{hit.item.id:>6}  {hit.item.published:%Y-%m-%d}  {hit.item.publisher}: {hit.item.title}"
                   + (f"  [{where}]" if where else ""))
        click.echo(f"        {plain(hit.passage)}")


@cli.command()
@click.option("--since", "window", type=Duration(), default="1d", show_default=True,
              help="Stories updated within this span (and since the last edition, whichever is later).")
@click.option("--to", "to", required=True, help="The address to send the edition to.")
@click.option("--smtp", help="Send through this SMTP server, host:port; without it the edition is written as .eml.")
@click.option("--smtp-user", "user", help="Log in to the SMTP server as this user; the password is read from the "
                                          "environment variable named by --smtp-password-env.")
@click.option("--smtp-password-env", "password_env", default="TIDINGS_SMTP_PASSWORD", show_default=True,
              help="The environment variable holding the SMTP password.")
@click.option("--from", "sender", default="tidings <tidings@localhost>", show_default=True, help="Sender address.")
@click.option("-o", "--output", type=click.Path(), help="Also (or instead) write the .eml here (a file, or a folder "
                                                        "to write it in).")
@pass_ctx
def email(obj: Context, window: float, to: str, smtp: str | None, user: str | None, password_env: str, sender: str,
          output: str | None) -> None:
    """Send (or write) a newsletter of the stories updated since the last edition."""
    import os
    from datetime import timedelta

    from tidings.publish.email import edition_since, email_edition

    login = None
    if user:
        password = os.environ.get(password_env, "")
        if not password:
            raise click.ClickException(f"--smtp-user {user!r} needs the password in the environment variable "
                                       f"{password_env}; set it (or name another with --smtp-password-env)")
        login = (user, password)
    now = datetime.now(UTC)
    with opened(obj.config) as store:
        since = edition_since(store, now, timedelta(seconds=window))
        result = email_edition(store, since, to, now, obj.config.site_url, smtp=smtp, out=output, sender=sender,
                               login=login)
    if result.edition is None:
        if since > now - timedelta(seconds=window):  # the last edition, not --since, set where this one starts
            click.echo(f"nothing to send: no story was updated since the last edition, at {since:%Y-%m-%d %H:%M} "
                       "UTC")
        else:
            click.echo(f"nothing to send: no story was updated since {since:%Y-%m-%d %H:%M} UTC; a longer --since "
                       "reaches further back")
        return
    where = [f"sent to {to} through {result.sent_via}"] if result.sent_via else []
    where += [f"written to {result.path}"] if result.path else []
    if not obj.quiet:
        click.echo(f"edition of {result.stories} stor{'y' if result.stories == 1 else 'ies'} {' and '.join(where)}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=Port(), help="Port to listen on.")
@click.option("--run-every", "every", type=Duration(), help="Also run the pipeline every DURATION (30m, 1h, ...) "
                                                             "beside the server, reading the sources that are due.")
@pass_ctx
def serve(obj: Context, host: str, port: int, every: float | None) -> None:
    """Serve the digests as a website with search and a JSON API (read-only unless --run-every)."""
    from tidings.web.serve import serve as serve_site

    serve_site(obj.config, host, port, every, quiet=obj.quiet)


@cli.command()
@click.option("--dir", "directory", default="demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's config, database and site.")
@pass_ctx
def demo(obj: Context, directory: str) -> None:
    """Run the bundled demo corpus day by day and publish its site."""
    from tidings.demo import run_demo

    stats = run_demo(directory, reporter_for(obj.quiet))
    for day, s in stats.days:
        click.echo(f"{day}: {s.items_new} new items, {s.items_linked} also carried elsewhere, "
                   f"{s.stories_new} new stories, {s.revisions} revisions")
        for error in stats.unexpected_errors(s):
            click.echo(f"  {error}")
    if stats.broken_on_purpose:
        click.echo(f"{len(stats.broken_on_purpose)} sources are broken on purpose, to show how a failing source "
                   "is reported while the run goes on (see 'tidings sources list' in the demo folder):")
        for name, why, error in stats.broken_on_purpose:
            click.echo(f"  {name}: {why}. Reported: {error}")
    c = stats.counts
    click.echo(f"Demo: {counted(c['digests'], 'digest')}, {counted(c['stories'], 'story', 'stories')}, "
               f"{counted(c['items'], 'item')}, {counted(c['revisions'], 'revision')}")
    click.echo(f"Site: {stats.site / 'index.html'}")


def main() -> None:
    start()
    try:
        cli(prog_name="tidings")
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    leave(code)


def start() -> None:
    """Ready the process for one command. What the imports made (modules, classes, compiled patterns: most of
    the heap) lives until the process ends, so the cycle collector is told to leave it out of every collection
    the command's work sets off (a run's collections then take about a quarter less time)."""
    gc.freeze()


def leave(code: int | str | None) -> None:
    """End the process now. A run leaves a large heap, which the interpreter would free object by object on its
    way out (a tenth of a second after a big run); by now everything is written and closed, so only what is
    buffered needs to go out first."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe or a full disk: what is left cannot go out anyway
            code = code or 1
    os._exit(code or 0)


@cli.group("eval")
def eval_group() -> None:
    """Measure quality against labelled data."""


@eval_group.command("cluster")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--order", type=click.Choice(["file", "shuffled"]), default="file", show_default=True,
              help="Stream items in file order, or shuffled with a fixed seed.")
@click.option("--vectoriser", type=click.Choice(["lexical", "hybrid", "semantic"]), default="lexical",
              show_default=True, help="Word vectors, sentence embeddings (the semantic extra), or both.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def eval_cluster(obj: Context, path: str, order: str, vectoriser: str, as_json: bool) -> None:
    """Stream a labelled JSONL file ({"text", "cluster"[, "time"]}) through the story clusterer."""
    from tidings.evaluate import evaluate_clustering, read_labelled

    result = evaluate_clustering(read_labelled(path), order, vectoriser, obj.config.settings)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{path} ({result['items']} items, {order} order, {vectoriser} vectors)")
    click.echo(f"NMI {result['nmi']:.4f}  ARI {result['ari']:.4f}  homogeneity {result['homogeneity']:.4f}  "
               f"completeness {result['completeness']:.4f}")
    click.echo(f"stories {result['stories']} (true {result['true_stories']})  "
               f"{result['items_per_s']:,.0f} items/s")


@cli.group()
def kb() -> None:
    """The knowledge base of AI-model facts."""


def _load_kb(obj: Context):
    from tidings.check.kb import load_kb

    knowledge = load_kb(obj.config.kb)
    for error in knowledge.errors:
        click.echo(f"Warning: {error} (skipped; the built-in KB is used)", err=True)
    return knowledge


@kb.command("show")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def kb_show(obj: Context, model: str, as_json: bool) -> None:
    """Show what the KB knows about a model (any name or alias)."""
    from dataclasses import asdict

    from tidings.publish.text import model_text

    kb = _load_kb(obj)
    found = kb.model(model)
    if found is None:
        near = kb.similar(model)
        hint = f"did you mean {' or '.join(near)}?" if near else "try 'tidings kb list'"
        raise click.ClickException(f"no model called {model!r} in the knowledge base; {hint}")
    click.echo(json.dumps(asdict(found), indent=2) if as_json else model_text(found))


@kb.command("list")
@pass_ctx
def kb_list(obj: Context) -> None:
    """List the models in the knowledge base."""
    for m in sorted(_load_kb(obj).models.values(), key=lambda m: (m.developer.lower(), m.id)):
        click.echo(f"{m.id:<24} {m.developer:<18} {m.openness or '-':<12} {m.released or '-'}")


@cli.command()
@click.argument("location")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def check(obj: Context, location: str, as_json: bool) -> None:
    """Fact-check a text file, a web page (URL or HTML file) or standard input ('-') against the KB."""
    from tidings.check.report import check_text, read_document

    stdin = sys.stdin.buffer.read() if location == "-" else None
    from tidings.ingest import policy_of

    document = read_document(location, stdin, policy=policy_of(obj.config.settings))
    report = check_text(document.text, _load_kb(obj))
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    for s in report["sentences"]:
        if not s["claims"] and not s["flags"]:
            continue
        click.echo(f"[{s['checkworthiness']:.2f}] {s['text']}")
        for c in s["claims"]:
            reported = f"  (reported: {c['attributed_to']} says so, not the writer)" if c.get("attributed_to") else ""
            click.echo(f"    {c['verdict'].upper():<13} {c['model']} {c['attribute']} = {c['value']}{reported}")
            for e in c["evidence"]:
                click.echo(f"        KB: {e['fact']}" + (f" <{e['source']}>" if e["source"] else ""))
        for flag in s["flags"]:
            click.echo(f"    FLAG          {flag}")
    checked = sum(1 for s in report["sentences"])
    click.echo(f"{counted(checked, 'check-worthy sentence')} in {document.name}")


@eval_group.command("claims")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--show", is_flag=True, help="List the cases the checker got wrong.")
@pass_ctx
def eval_claims(obj: Context, path: str, as_json: bool, show: bool) -> None:
    """Check a set of claims with known answers (TOML [[claims]] with text and expect = true|false|neutral)."""
    from tidings.check.claimset import evaluate_claims, read_cases

    result = evaluate_claims(read_cases(path), _load_kb(obj))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{path} ({result['cases']} cases)")
    click.echo(f"false claims contradicted: {result['false_contradicted']}/{result['false']} "
               f"({result['false_contradicted_rate']:.1%})  true claims contradicted: {result['true_contradicted']}"
               f"  neutral cases contradicted: {result['neutral_contradicted']}")
    for kind, counts in result["kinds"].items():
        click.echo(f"  {kind:<18} false {counts.get('false_contradicted', 0)}/{counts.get('false', 0)}  "
                   f"true wrongly {counts.get('true_contradicted', 0)}/{counts.get('true', 0)}  "
                   f"neutral wrongly {counts.get('neutral_contradicted', 0)}/{counts.get('neutral', 0)}")
    if show:
        for text in result["missed"]:
            click.echo(f"MISSED   {text}")
        for text in result["wrongly_contradicted"]:
            click.echo(f"WRONG    {text}")


@eval_group.command("checkworthy")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--loo", is_flag=True, help="Re-train leave-one-debate-out on FOLDER itself.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_checkworthy(folder: str, loo: bool, as_json: bool) -> None:
    """Rank each debate's sentences by check-worthiness; MAP, R-precision and P@10 (CheckThat! format)."""
    from tidings.check.checkworthy import evaluate, read_folder

    result = evaluate(read_folder(folder), leave_one_out=loo)
    if as_json:
        click.echo(json.dumps(result))
        return
    how = "leave-one-debate-out" if loo else "shipped weights"
    click.echo(f"{folder} ({result['debates']} debates, {how})")
    click.echo(f"MAP {result['map']:.4f}  R-precision {result['r_precision']:.4f}  P@10 {result['p_at_10']:.4f}  "
               f"(baseline, longer sentences first: MAP {result['baseline_map']:.4f})")
