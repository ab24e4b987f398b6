"""The static site: an index of digests, a page per digest, per story and per revision, an Atom feed per digest.

Pages are rendered by Jinja2 with autoescaping on; item text is plain text by the time it gets here, and every
link goes through `tidings.urls.web_url`, so nothing from a feed can run in a reader's browser.

The site is built beside its folder and swapped in at the end. tidings only ever replaces a folder that it made
itself (one holding its marker file) or an empty one, so pointing it at the wrong folder cannot delete anything.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from tidings.check.words import claim_words
from tidings.errors import PublishError, TidingsError
from tidings.model import Digest, Revision, Sentence, Story
from tidings.publish.feeds import NOT_XML, FeedEntry, digest_atom, digest_json_feed, digest_rss, feed_entry, xml_text
from tidings.publish.pages import (
    archive_page,
    archive_weeks,
    digest_page,
    format_day,
    headline,
    home_page,
    listing,
    misinformation_month_page,
    misinformation_page,
    rank,
    redirect_page,
    revision_page,
    sources_page,
    story_page,
    watch_pages,
)
from tidings.store import Store
from tidings.urls import web_url
from tidings.workers import Answers, in_processes
from tidings.write.revision import domain, numbering_note, writer_note

IN_PROCESSES = 32  # stories whose pages worker processes render, when a publish renders at least this many
log = logging.getLogger(__name__)

MARKER = ".tidings-site"
_MARKER_TEXT = ("This folder is a site written by `tidings publish`. tidings replaces it as a whole on every\n"
                "publish, so keep nothing else in it. Without this file tidings will not touch the folder.\n")
_CHOOSE = "choose an empty or new folder for site_dir or --dir"
_TEMPLATES = Path(str(resources.files("tidings").joinpath("templates")))


@dataclass(frozen=True)
class SiteStats:
    path: Path
    digests: int
    stories: int
    revisions: int
    errors: tuple[str, ...] = ()  # one line per story (or digest page) that could not be published
    rendered: int = 0  # stories whose pages were rendered by this publish (the others had not changed)


class _CompiledTemplates(FileSystemBytecodeCache):
    """Templates compiled once, kept in the user's private temporary folder (made 0700, refused if anyone else
    owns it) and checked against their source and the Python version before use: a run that renders a few pages
    does not compile every template it touches again, a tenth of a second. A cache that cannot be read or
    written is passed over, and the template compiled as without one."""

    def load_bytecode(self, bucket) -> None:
        with contextlib.suppress(OSError, EOFError, ValueError, TypeError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


@functools.cache
def _template_cache() -> _CompiledTemplates | None:
    try:
        return _CompiledTemplates()
    except (OSError, RuntimeError):
        return None  # no safe folder for it: templates are compiled each time


def environment() -> Environment:
    env = Environment(loader=PackageLoader("tidings", "templates"),
                      autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
                      finalize=_finalize, bytecode_cache=_template_cache())
    env.filters["day"] = format_day
    env.filters["web_url"] = web_url
    env.filters["claim"] = lambda c: claim_words(c, display_names())
    env.filters["domain"] = domain
    env.filters["with_insertions"] = with_insertions
    env.filters["fact_check_groups"] = fact_check_groups
    env.filters["first_citations"] = first_citations
    env.filters["writer_note"] = writer_note
    env.filters["numbering_note"] = numbering_note
    return env


def first_citations(revision: Revision, groups: list[dict]) -> dict[int, str]:
    """For each source number, the id of its first citation on the page (see `cites` in _macros): in the
    article's text, else in its fact check, whose `groups` (`fact_check_groups`) the page has made already (a
    source may be kept for what an earlier revision cited)."""
    found: dict[int, str] = {}
    for k, section in enumerate(revision.sections):
        for i, s in enumerate(section.sentences):
            for n in s.cites:
                found.setdefault(n, f"cite-{k}-{i}-{n}")
    for prefix, shown in (("f", [g for g in groups if g["open"]]), ("g", [g for g in groups if not g["open"]])):
        for i, g in enumerate(shown):
            for n in g["cites"]:
                found.setdefault(n, f"cite-{prefix}{i}-{n}")
    return found


@functools.cache
def display_names() -> dict[str, str]:
    """The built-in knowledge base's display names, for claims stored by their KB ids."""
    from tidings.check.kb import load_kb

    return load_kb().display_names


def with_insertions(sentence: Sentence) -> Markup:
    """A sentence as HTML, its bracketed editorial insertions set apart from the source's own words."""
    text, out, pos, shift = sentence.text, [], 0, 0
    for at, added in sorted(sentence.insertions):
        start = at + shift
        out.append(escape(text[pos:start]))
        out.append(Markup('<span class="editorial" title="added by tidings">{}</span>').format(added))
        pos, shift = start + len(added), shift + len(added)
    out.append(escape(text[pos:]))
    return Markup("").join(out)


_OPEN = ("contradicted", "disputed")
_RANK = {"contradicted": 0, "disputed": 1, "single-source": 2, "unverified": 3, "corroborated": 4, "supported": 5}


def fact_check_groups(revision: Revision) -> list[dict]:
    """The fact check by sentence: each sentence quoted once with all its claims, those with a contradicted or
    disputed claim first (and shown open), the rest after (folded away)."""
    groups: dict[str, dict] = {}
    for f in revision.fact_check:
        g = groups.setdefault(f.sentence, {"sentence": f.sentence, "cites": set(), "checks": []})
        g["cites"].update(f.cites)
        if all((c.claim, c.verdict) != (f.claim, f.verdict) or not f.claim for c in g["checks"]):
            g["checks"].append(f)
    out = []
    for g in groups.values():
        checks = sorted(g["checks"], key=lambda f: _RANK.get(f.verdict, 9))
        worst = checks[0].verdict
        out.append({**g, "checks": checks, "cites": sorted(g["cites"]), "worst": worst, "open": worst in _OPEN})
    return sorted(out, key=lambda g: (_RANK.get(g["worst"], 9), g["cites"][0] if g["cites"] else 0))


def _finalize(value):
    # Every printed value passes here, so no control character from a stored text reaches a page or a feed. Most
    # have none, and are printed as they are (a page prints thousands: a copy of each costs a tenth of a render).
    if isinstance(value, str) and NOT_XML.search(value) is not None:
        return Markup(xml_text(str(value))) if isinstance(value, Markup) else xml_text(value)
    return value


def publish_site(store: Store, out_dir: str | Path, site_url: str = "http://localhost:8000/",
                 everything: bool = False, processes: int = 0) -> SiteStats:
    """Publish the site into `out_dir`, which must be new, empty or a site tidings made before.

    Only the pages whose content changed since this folder was last published are rendered (the store remembers
    what each story's pages were made from), each written whole under a temporary name and then renamed, so a
    reader never sees half a page. A first publish, a change of tidings' templates, digests or site URL, or
    `everything` renders the whole site beside the folder and swaps it in at once.

    A story that cannot be rendered is left out and named in `SiteStats.errors`; the rest is published. A folder
    that cannot be written raises `PublishError`, and then the site that was there before is left as it was.
    Many stories' pages are rendered by worker processes (`processes`: 0 is one per processor, 1 none).
    """
    try:
        out = Path(out_dir).resolve()
    except (OSError, RuntimeError) as exc:
        raise PublishError(f"{out_dir}: cannot find this folder ({_reason(exc)}); {_CHOOSE}") from exc
    _check_target(out)
    version = render_version(store.digests(), site_url)
    recorded, state, pages = store.published(str(out))
    if everything or recorded != version or not (out / MARKER).is_file():
        return _publish_all(store, out, site_url, version, processes)
    try:
        return _publish_changes(store, out, site_url, version, state, pages, processes)
    except OSError as exc:
        raise PublishError(_unwritable(out, exc)) from exc


def _publish_all(store: Store, out: Path, site_url: str, version: str, processes: int = 0) -> SiteStats:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tidings-", dir=out.parent))
    except OSError as exc:
        raise PublishError(_unwritable(out, exc)) from exc
    try:
        new = staging / "site"
        new.mkdir()  # made by mkdir, not mkdtemp, so the site gets the user's usual permissions, not 0700
        memo = _Memo({})
        stats, shown = _render(store, new, out, site_url, {}, memo, processes)
        (new / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
        _check_target(out)  # someone may have put files there while the site was being rendered
        _swap(new, out, staging / "old")
    except OSError as exc:
        raise PublishError(_unwritable(out, exc)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # Recorded once the pages are in place: a publish stopped before this renders those stories again.
    store.save_published(str(out), version, shown, everything=True, pages=memo.now)
    return stats


def _publish_changes(store: Store, out: Path, site_url: str, version: str,
                     state: dict[int, tuple[str, dict]], pages: dict[str, str], processes: int = 0) -> SiteStats:
    memo = _Memo(pages)
    stats, shown = _render(store, out, out, site_url, state, memo, processes)
    removed = set(state) - set(shown)
    changed = {k: v for k, v in shown.items() if state.get(k) != v}
    made = {page: signature for page, signature in memo.now.items() if pages.get(page) != signature}
    if changed or removed or made:
        store.save_published(str(out), version, changed, removed, pages=made)
    return stats


def render_version(digests: list[Digest], site_url: str) -> str:
    """What every page depends on besides its story: tidings' version and templates, the knowledge base's names,
    the digests and the site's URL. When it changes, the whole site is rendered again."""
    from tidings import __version__

    digest = hashlib.sha256(__version__.encode())
    for name in sorted(_TEMPLATES.iterdir(), key=lambda p: p.name):
        if name.is_file():
            digest.update(name.name.encode() + b"\0" + name.read_bytes())
    names = display_names()
    digest.update(json.dumps([sorted(names.items()), site_url,
                              [[d.slug, d.title, d.description, list(d.keywords)] for d in digests]]).encode())
    return digest.hexdigest()


ABANDONED_AFTER = 600  # seconds: a staging folder this old belongs to a publish that was killed, not a running one


def _remove_abandoned(out: Path) -> None:
    """Staging folders left beside the site by a publish that was killed before it could clean up."""
    now = time.time()
    for folder in out.parent.glob(f".{out.name}.tidings-*"):
        try:
            if folder.is_dir() and not folder.is_symlink() and now - folder.stat().st_mtime > ABANDONED_AFTER:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _check_target(out: Path) -> None:
    try:
        if not os.path.lexists(out):
            return
        if not out.is_dir():
            raise PublishError(f"{out}: is a file, not a folder; {_CHOOSE}")
        if (out / MARKER).is_file() or _site_without_marker(out):
            return
        has_files = next(out.iterdir(), None) is not None
    except OSError as exc:
        raise PublishError(f"{out}: cannot read this folder ({_reason(exc)}); {_CHOOSE}") from exc
    if has_files:
        raise PublishError(f"{out}: not a site made by tidings (it has other files); {_CHOOSE}")


def _site_without_marker(out: Path) -> bool:
    """Whether a folder is exactly a site that tidings wrote before sites carried the marker: the index, the
    style sheet, and one folder per digest with its index and Atom feed. Anything else in it, and it is not."""
    entries = list(out.iterdir())
    names = {e.name for e in entries}
    if not {"index.html", "style.css"} <= names:
        return False
    digests = [e for e in entries if e.name not in ("index.html", "style.css", "sources.html", "icon.svg")]
    return bool(digests) and all(d.is_dir() and (d / "feed.atom").is_file() and (d / "index.html").is_file()
                                 for d in digests)


def _swap(new: Path, out: Path, old: Path) -> None:
    """Put `new` where `out` is. The old site goes into the staging folder (removed with it) until the new one is
    in place; if the new one cannot be put there, the old one goes back."""
    if not out.exists():
        os.replace(new, out)
        return
    os.chmod(new, stat.S_IMODE(out.stat().st_mode))
    if not (out / MARKER).is_file() and not _site_without_marker(out):
        out.rmdir()  # an empty folder; rmdir refuses if anything has arrived in it since it was checked
        os.replace(new, out)
        return
    os.replace(out, old)
    try:
        os.replace(new, out)
    except OSError:
        os.replace(old, out)
        raise


def _unwritable(out: Path, exc: OSError) -> str:
    # A path under a file fails with a puzzling "File exists" or "Not a directory": name the file instead.
    blocker = next((p for p in (out, *out.parents) if os.path.lexists(p)), None)
    why = f"{blocker} is a file, not a folder" if blocker and not os.path.isdir(blocker) else _reason(exc)
    return f"{out}: cannot write the site there ({why}); choose a folder you can write to for site_dir or --dir"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


@dataclass
class _Memo:
    """What some of a digest's pages were made from (page -> hash of its inputs), before and now, so a page whose
    inputs did not change is not made again."""

    before: dict[str, str]
    now: dict[str, str] = field(default_factory=dict)

    def current(self, path: Path, page: str, inputs: object) -> bool:
        """Whether the page at `path` was made from these `inputs` (noted either way, for the next publish)."""
        self.now[page] = signature = hashlib.sha256(repr(inputs).encode()).hexdigest()
        return self.before.get(page) == signature and path.is_file()

    def failed(self, page: str) -> None:
        self.now.pop(page, None)


def _render(store: Store, root: Path, site: Path, site_url: str, state: dict[int, tuple[str, dict]],
            memo: _Memo, processes: int = 0) -> tuple[SiteStats, dict[int, tuple[str, dict]]]:
    """Render into `root` every story whose signature differs from `state` (all of them when `state` is empty),
    and each digest's pages where any of its stories changed. Returns the stats and what the site now shows:
    {story id: (signature, line in its digest's list)}."""
    env = environment()
    errors: list[str] = []
    digests = store.digests()
    redirects = store.redirects()
    fresh = not state
    if fresh:
        _write(root / "style.css", resources.files("tidings").joinpath("templates/style.css").read_text("utf-8"))
        _write(root / "icon.svg", resources.files("tidings").joinpath("templates/icon.svg").read_text("utf-8"))
    shown: dict[int, tuple[str, dict]] = {}
    changed_any, count = fresh, 0
    plans: list[_Plan] = []
    versions = store.story_versions()
    for digest in digests:
        folder = root / digest.slug
        signatures = {k: _signature(v) for k, v in versions.get(digest.slug, {}).items()}
        before = {k for k, (_, listing) in state.items() if listing.get("digest") == digest.slug}
        on_disk = _pages_in(folder / "stories")
        dirty = [k for k in sorted(signatures) if fresh or state.get(k, ("",))[0] != signatures[k]
                 or f"{k}.html" not in on_disk]
        for k in before - set(signatures) - set(dirty):
            _remove_story(folder, k)  # merged away, or no longer live: a redirect may take its address
        shown.update({k: state[k] for k in before & set(signatures) if k not in dirty})
        if not fresh and not dirty and before <= set(signatures):
            continue
        changed_any = True
        found = {story.id: story for story in store.stories_by_id(dirty)}
        # The feed entries of the stories rendered now that may be among the newest its feeds carry are made with
        # their pages (any other one a feed needs is made when it is written).
        feeding = set(sorted(found, key=lambda k: (found[k].updated, k), reverse=True)[:FEED_ENTRIES])
        plans.append(_Plan(digest, folder, signatures, dirty, found, feeding, store.story_coverage(dirty)))

    def job(plan: _Plan, k: int):
        # What a story's pages are made from, read here; everything that could fail on its data happens before
        # anything of it is written. Revision pages already published stay as they are: a revision's page never
        # changes once written.
        story = plan.found.get(k)
        published = state[k][1]["revisions"] if k in state and (plan.folder / "stories" / str(k)).is_dir() else 0
        try:
            return _story_inputs(store, plan.digest, story, plan.coverage.get(k, []), published, k in plan.feeding) \
                if story else None
        except TidingsError:
            raise  # the database failing is not this story's fault: stop, and keep the site that is there
        except Exception as exc:
            log.debug("story %s could not be rendered", k, exc_info=True)
            return _reason(exc)

    # Every digest's pages by the same worker processes, when there are many, while this process reads the next
    # stories and writes the pages that came back: a digest's own pages are made here while the workers go on
    # with the next digest's stories.
    made = in_processes(_rendered, (job(plan, k) for plan in plans for k in plan.dirty), None, processes,
                        min_tasks=IN_PROCESSES, chunk=4, total=sum(len(plan.dirty) for plan in plans))
    early = changed_any and isinstance(made, Answers)
    try:
        if early:  # the sources' page lists no story: made while the workers render the first ones
            _write(root / "sources.html", sources_page(env, store.sources(), digests))
        answers = iter(made)
        for plan in plans:
            entries: dict[int, FeedEntry] = {}
            for k in plan.dirty:
                rendered, why, entry = next(answers)
                if entry is not None:
                    entries[k] = entry
                if why:
                    errors.append(f"story {k} ({plan.digest.slug}): not published, {why}")
                if rendered is None:
                    _remove_story(plan.folder, k)
                    continue
                pages, listing_line = rendered
                for path, html in pages.items():
                    _write(plan.folder / path, html)
                shown[k] = (plan.signatures[k], listing_line)
                count += 1
            listed = [line for _, line in shown.values() if line["digest"] == plan.digest.slug]
            versions = {k: signature for k, (signature, _) in shown.items()}
            _digest_pages(env, store, plan.digest, plan.folder, listed, versions, redirects, site_url, errors, memo,
                          entries)
    finally:
        made.close()  # stops the workers, if any are still rendering
    listed = {d.slug: [line for _, line in shown.values() if line["digest"] == d.slug] for d in digests}
    counts = {slug: len(lines) for slug, lines in listed.items()}
    if changed_any:
        _write(root / "index.html", home_page(env, digests, {slug: rank(lines) for slug, lines in listed.items()}))
        if not early:  # after the stories' pages, which a reader waits for
            _write(root / "sources.html", sources_page(env, store.sources(), digests))
    revisions = sum(listing["revisions"] for _, listing in shown.values())
    return SiteStats(site, len(digests), sum(counts.values()), revisions, tuple(errors), count), shown


@dataclass(frozen=True)
class _Plan:
    """A digest whose pages a publish makes again: its stories' signatures, those to render, and what they need."""

    digest: Digest
    folder: Path
    signatures: dict[int, str]
    dirty: list[int]
    found: dict[int, Story]
    feeding: set[int]
    coverage: dict


def _pages_in(folder: Path) -> set[str]:
    """The names of the files in a folder (none when it is missing): one listing, not a look per page."""
    try:
        with os.scandir(folder) as entries:
            return {entry.name for entry in entries if entry.is_file()}
    except OSError:
        return set()


def _signature(version: tuple) -> str:
    return hashlib.sha256(repr(version).encode()).hexdigest()


def _remove_story(folder: Path, story_id: int) -> None:
    page = folder / "stories" / f"{story_id}.html"
    if page.is_file():
        page.unlink()
    shutil.rmtree(folder / "stories" / str(story_id), ignore_errors=True)


def _digest_pages(env: Environment, store: Store, digest: Digest, folder: Path, listed: list[dict],
                  versions: Mapping[int, str], redirects: dict[int, int], site_url: str, errors: list[str], memo: _Memo,
                  entries: Mapping[int, FeedEntry] | None = None) -> None:
    """A digest's list of stories, its Atom feed, its misinformation watch, and the pages of stories merged into
    its stories, which send readers on to where they live now. `entries` holds feed entries already made."""
    listed = rank(listed)
    weeks = archive_weeks(listed)
    _write(folder / "index.html", digest_page(env, digest, listed, weeks))
    _archive(env, digest, folder, weeks, memo, versions)
    titles = {s["id"]: s["headline"] for s in listed}
    for gone, target in sorted(redirects.items()):
        if target in titles:
            _write(folder / "stories" / f"{gone}.html", redirect_page(env, target, titles[target]))
    others: dict[str, bytes] = {}

    def feeds() -> bytes:
        # One set of entries, three formats; the other two are written only if all three could be made.
        made = _feed_entries(env, store, listed, entries or {})
        others["feed.rss"] = digest_rss(digest, made, site_url)
        others["feed.json"] = digest_json_feed(digest, made, site_url)
        return digest_atom(digest, made, site_url)

    if _write_or_report(folder / "feed.atom", feeds, f"digest {digest.slug}: feeds", errors):
        for name, content in others.items():
            _write(folder / name, content)
    _watch(env, digest, folder, misinformation(store, digest.slug), set(titles), memo, errors)


def _watch(env: Environment, digest: Digest, folder: Path, claims: list[dict], live: set[int], memo: _Memo,
           errors: list[str]) -> None:
    """The digest's misinformation watch, and a page per month of its flagged sentences: each made again only
    when what it shows changed; a month left without flagged sentences loses its page."""
    latest, months = watch_pages(claims)
    linked = sorted({g["story"] for g in latest} & live)
    pages: dict[str, tuple[object, Callable[[], str]]] = {  # file -> (what it shows, how it is made)
        "misinformation.html": ((latest, [(month, len(groups)) for month, groups in months.items()], linked),
                                functools.partial(misinformation_page, env, digest, claims, linked))}
    for month, groups in months.items():
        stories = sorted({g["story"] for g in groups} & live)
        make = functools.partial(misinformation_month_page, env, digest, month, groups, stories)
        pages[f"misinformation/{month}.html"] = ((groups, stories), make)
    for name, (inputs, make) in pages.items():
        page = f"{digest.slug}/{name}"
        if not memo.current(folder / name, page, inputs) and not _write_or_report(
                folder / name, make, f"digest {digest.slug}: {name}", errors):
            memo.failed(page)
    for name in _pages_in(folder / "misinformation"):
        if name.endswith(".html") and f"misinformation/{name}" not in pages:
            (folder / "misinformation" / name).unlink()


def _archive(env: Environment, digest: Digest, folder: Path, weeks: dict[str, list[dict]], memo: _Memo,
             versions: Mapping[int, str]) -> None:
    """The digest's archive: a page per week in which stories began, made again only when its stories' lines
    changed; a week left without stories (merged away) loses its page. A story's line is made with its pages, so
    the signatures of its pages' inputs (`versions`) stand for the lines (and cost far less to compare)."""
    for week, lines in weeks.items():
        path = folder / "archive" / f"{week}.html"
        if not memo.current(path, f"{digest.slug}/archive/{week}.html", [(s["id"], versions[s["id"]]) for s in lines]):
            _write(path, archive_page(env, digest, week, lines))
    for name in _pages_in(folder / "archive"):
        if name.endswith(".html") and name[:-5] not in weeks:
            (folder / "archive" / name).unlink()


def _write_or_report(path: Path, build, what: str, errors: list[str]) -> bool:
    """Write what `build` makes; if it fails on the data (not the database), say so in `errors` and go on.
    Returns whether it was written."""
    try:
        content = build()
    except TidingsError:
        raise
    except Exception as exc:
        errors.append(f"{what} not published, {_reason(exc)}")
        log.debug("%s could not be built", what, exc_info=True)
        return False
    _write(path, content)
    return True


FEED_ENTRIES = 50  # a feed carries the stories revised last; readers keep what they already fetched


def _feed_entries(env: Environment, store: Store, listed: list[dict], made: Mapping[int, FeedEntry]
                  ) -> list[FeedEntry]:
    newest = sorted(listed, key=lambda s: (s["revised_at"], s["id"]), reverse=True)[:FEED_ENTRIES]
    return feed_entries(env, store, [s["id"] for s in newest], made)


def feed_entries(env: Environment, store: Store, story_ids: Sequence[int],
                 made: Mapping[int, FeedEntry] | None = None) -> list[FeedEntry]:
    """The feed entries of these stories, in their order: each story's latest revision. Those in `made` (made
    with the story's pages) are not made again."""
    made = made or {}
    missing = [k for k in story_ids if k not in made]
    stories = {story.id: story for story in store.stories_by_id(missing)}
    latest = store.latest_revisions(missing)
    fresh = {k: feed_entry(env, stories[k], latest[k], headline(latest[k], k)) for k in missing
             if k in stories and k in latest}
    return [made[k] if k in made else fresh[k] for k in story_ids if k in made or k in fresh]


def _story_inputs(store: Store, digest: Digest, story: Story, coverage: list[tuple[str, float | None]],
                  published: int, feed: bool) -> tuple | None:
    """What a story's pages (and, with `feed`, its feed entry) are made from (see `_rendered`); None for a story
    with no revision yet. With `published` revisions already on the site, only the pages that differ are made:
    the story's own and the new revisions'."""
    revisions = store.revisions(story.id, whole_from=published)  # the others' pages stay as they are
    if not revisions:
        return None
    return digest, story, revisions, coverage, published, feed


def _story_pages(env: Environment, digest: Digest, story: Story, revisions: list[Revision], coverage,
                 published: int) -> tuple[dict[str, str], dict]:
    """A story's pages (path under its digest's folder -> HTML) and its line in the digest's list (plain values,
    so it can be kept in the store)."""
    pages = {f"stories/{story.id}.html": story_page(env, digest, story, revisions)}
    for k, rev in enumerate(revisions):
        if k >= published:
            pages[f"stories/{story.id}/r{rev.number}.html"] = revision_page(env, digest, story, revisions, k)
    return pages, listing(digest, story, revisions[-1], coverage)


def _rendered(_shared, inputs: tuple | str | None
              ) -> tuple[tuple[dict[str, str], dict] | None, str | None, FeedEntry | None]:
    """(pages and list line, None, feed entry), or (None, why not, None) for a story whose inputs could not be
    read or whose pages could not be made (None, None, None: no revision yet). What a worker process does. The
    feed entry is None too when it cannot be made: the feeds then try again, and say what is wrong."""
    if not isinstance(inputs, tuple):
        return None, inputs, None
    env = _environment()
    *pages_from, feed = inputs
    try:
        rendered = _story_pages(env, *pages_from)
    except Exception as exc:
        log.debug("story %s could not be rendered", inputs[1].id, exc_info=True)
        return None, _reason(exc), None
    _, story, revisions, _, _ = pages_from
    entry = None
    if feed:
        with contextlib.suppress(Exception):
            entry = feed_entry(env, story, revisions[-1], headline(revisions[-1], story.id))
    return rendered, None, entry


@functools.cache
def _environment() -> Environment:
    return environment()


def misinformation(store: Store, digest: str) -> list[dict]:
    """Contradicted and disputed claims in the sources of a digest's stories, newest first: each sentence once,
    with its item and all its claims."""
    flagged = store.flagged_claims(digest, ("contradicted", "disputed"))
    items = store.item_heads({c.item_id for c, _ in flagged})
    groups: dict[tuple[int, str], dict] = {}
    for c, story_id in flagged:
        url, title, publisher, published = items[c.item_id]
        g = groups.setdefault((c.item_id, c.sentence), {
            "sentence": c.sentence, "publisher": publisher, "title": title, "url": url,
            "published": published, "story": story_id, "claims": [], "worst": "disputed"})
        g["claims"].append(c)
        if c.verdict == "contradicted":
            g["worst"] = "contradicted"
    return sorted(groups.values(), key=lambda g: g["published"], reverse=True)


def _write(path: Path, content: str | bytes) -> None:
    """Write a file whole: under a temporary name beside it, then renamed over it, so a reader (or a web server)
    sees the old page or the new one, never half of one."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with contextlib.suppress(OSError):
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return  # the same page: leave it, and its time, as they are
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
