"""`tidings serve`: the digest as a live website and a JSON API, read from the store.

Pages are the static site's pages (`publish.pages`, the same templates and relative links) at the static site's
addresses, each also answering without its `.html`; the server adds search. The API under `/api/` gives the
objects in the shapes of `tidings export` (`publish.serialize`), and FastAPI documents it at `/openapi.json`.

Every GET answers with a strong ETag and `304 Not Modified` to a matching `If-None-Match`. Pages are kept
rendered per data version of the store (a few indexed maxima that move with every run), so a busy story costs a
lookup, not a render. The server only reads: with `--run-every` a thread runs the pipeline beside it, the one
writer, and readers see each run when it commits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from tidings import __version__
from tidings.config import Config
from tidings.dates import as_utc
from tidings.errors import TidingsError
from tidings.model import Digest, Story
from tidings.publish import pages
from tidings.publish.feeds import digest_atom, digest_json_feed, digest_rss
from tidings.publish.serialize import (
    digest_json,
    item_json,
    revision_json,
    story_json,
    story_summary,
)
from tidings.publish.site import FEED_ENTRIES, environment, feed_entries, misinformation, render_version
from tidings.search import VERDICTS, SearchError, plain, search
from tidings.store import Store
from tidings.web import schemas

log = logging.getLogger(__name__)

PAGE_CACHE_BYTES = 96 * 2**20  # rendered pages kept, least recently used dropped first (10,000 stories: ~75 MB)
VERSION_TTL = 1.0  # seconds a data version of the store is trusted before it is asked for again
MAX_LIMIT = 200
MAX_QUERY = 500  # characters of a search query
MAX_OFFSET = 100_000  # the deepest page of search hits a request may ask for
HTML = "text/html; charset=utf-8"


class NotFound(TidingsError):
    """No such digest, story, revision or item."""


class BadRequest(TidingsError):
    """A parameter that cannot be used (a cursor that was not given out by this server)."""


class Moved(Exception):
    """A merged story's address: the answer is a redirect to where its items went."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class Site:
    """What the routes share: the store, the templates and the pages already rendered.

    A page is kept per data version of the store, which is asked for at most every `fresh_within` seconds: a
    page may show a run's results that much later, and a request for a kept page costs a dictionary lookup."""

    def __init__(self, store: Store, site_url: str, fresh_within: float = VERSION_TTL) -> None:
        self.store, self.site_url, self.fresh_within = store, site_url, fresh_within
        self.env = environment()
        self.env.globals["serving"] = True
        self._pages: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._version_at = 0.0
        self._renders: dict[tuple, str] = {}  # (digests, site URL) -> render_version: templates do not change

    def version(self) -> tuple:
        """What every page depends on: the store's data version, and tidings' templates and digests."""
        now = time.monotonic()
        if self._version is None or now - self._version_at >= self.fresh_within:
            digests = self.store.digests()
            key = (tuple(digests), self.site_url)
            if key not in self._renders:
                self._renders[key] = render_version(digests, self.site_url)
            self._version, self._version_at = (self.store.data_version(), self._renders[key]), now
        return self._version

    def cached(self, key: tuple) -> tuple[bytes, str] | None:
        """A page already made for the current data version, if there is one."""
        version = self.version()
        with self._lock:
            found = self._pages.get(key)
            if found is None or found[0] != version:
                return None
            self._pages.move_to_end(key)
            return found[2], found[3]

    def page(self, key: tuple, make: Callable[[], str | bytes], token: Callable[[], object] | None = None
             ) -> tuple[bytes, str]:
        """A rendered page and its ETag, made once per data version. With a `token` (what the page is made from,
        cheaper to ask for than the page: a story's last update), a page kept from an older version whose token
        is unchanged is kept on, not made again: a run changes a few stories, not all of them."""
        version = self.version()
        with self._lock:
            found = self._pages.get(key)
        if found is not None and found[0] == version:
            return found[2], found[3]
        now = token() if token is not None else None
        if found is not None and token is not None and found[1] == now:
            entry = (version, now, found[2], found[3])
        else:
            made = make()
            body = made.encode("utf-8") if isinstance(made, str) else made
            entry = (version, now, body, _etag(body))
        with self._lock:
            old = self._pages.pop(key, None)
            self._bytes += len(entry[2]) - (len(old[2]) if old else 0)
            self._pages[key] = entry
            while self._bytes > PAGE_CACHE_BYTES and len(self._pages) > 1:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= len(dropped[2])
        return entry[2], entry[3]

    async def kept(self, key: tuple, make: Callable[[], str | bytes], token: Callable[[], object] | None = None
                   ) -> tuple[bytes, str]:
        """`page` for a request: a page already made is answered here, on the event loop; only making one (store,
        templates) goes to a worker thread. Everything that can fail (an unknown digest or story) is in `make`
        and `token`."""
        return self.cached(key) or await run_in_threadpool(self.page, key, make, token)

    def story_page(self, slug: str, story_id: int) -> tuple[bytes, str]:
        """A story's page (made or kept); a merged story's is a redirect to where its items went."""
        return self.page(*self.story_parts(slug, story_id))

    def story_parts(self, slug: str, story_id: int) -> tuple[tuple, Callable[[], str], Callable[[], object]]:
        """The key, the maker and the token of a story's page (see `page`)."""
        def token() -> object:
            moved = self.store.redirects().get(story_id)
            if moved is not None:
                raise Moved(f"/{slug}/stories/{moved}.html")
            story = self.story(story_id, slug)
            return story.updated, story.revision_count

        def make() -> str:
            story = self.story(story_id, slug)
            revisions = self.store.revisions(story.id)
            if not revisions:
                raise NotFound(f"story {story.id} has no revision yet")
            return pages.story_page(self.env, self.digest(slug), story, revisions)
        return ("story", slug, story_id), make, token

    def warm(self, stop: threading.Event) -> int:
        """Make the pages of the live stories, most recently updated first, until the cache is as full as it may
        be: what a static site does at publish, so that a reader's first visit finds its page made. Returns how
        many were made."""
        made = 0
        for story in self.store.stories():
            if stop.is_set() or self._bytes > PAGE_CACHE_BYTES * 0.9:
                break
            if self.cached(("story", story.digest, story.id)) is None:
                with suppress(TidingsError, Moved):
                    self.story_page(story.digest, story.id)
                    made += 1
        return made

    def digest(self, slug: str) -> Digest:
        found = next((d for d in self.store.digests() if d.slug == slug), None)
        if found is None:
            raise NotFound(f"no digest {slug!r}")
        return found

    def ranked(self, digest: Digest) -> list[dict]:
        """The digest's stories as its page lists them, most important first."""
        stories = self.store.stories(digest.slug)
        ids = [s.id for s in stories]
        latest = self.store.latest_revisions(ids)
        carried = self.store.story_coverage(ids)
        return pages.rank([pages.listing(digest, s, latest[s.id], carried.get(s.id, ())) for s in stories
                           if s.id in latest])

    def story(self, story_id: int, digest: str | None = None) -> Story:
        found = self.store.story(story_id)
        if found is None or (digest is not None and found.digest != digest):
            raise NotFound(f"no story {story_id}" + (f" in digest {digest!r}" if digest else ""))
        return found


def create_app(config: Config, store: Store | None = None, fresh_within: float = VERSION_TTL,
               warm: bool = False) -> FastAPI:
    """The web app over the config's store (or `store`, opened by the caller). Pages show what a run stored at
    most `fresh_within` seconds after it committed. With `warm`, a thread makes the stories' pages ahead of their
    readers, at start and after each run."""
    site = Site(store or Store(config.db_url), config.site_url, fresh_within)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        warmer = threading.Thread(target=_keep_warm, args=(site, stop), name="tidings-pages", daemon=True)
        if warm:
            warmer.start()
        try:
            yield
        finally:
            stop.set()
            if warm:
                warmer.join(timeout=10)

    app = FastAPI(title="tidings", version=__version__, description=(
        "Living topic digests: stories, their revisions, their sources and their fact checks. Lists come as "
        "`{\"stories\": [...], \"next_cursor\": ...}`; pass `next_cursor` back as `cursor` for the next page."),
        docs_url="/api/docs", redoc_url=None, lifespan=lifespan)
    app.state.site = site
    _errors(app)
    _api(app, site)  # before the pages, whose `/{digest}/...` patterns would take `/api/...` too
    _pages(app, site)
    app.add_middleware(_Head)
    return app


class _Head:
    """HEAD answered as GET without its body (the same status and headers), for link checkers and uptime
    monitors: the routes themselves answer GET only."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)
        await self.app({**scope, "method": "GET"}, receive, headers_only)


WARM_EVERY = 5.0  # seconds between looks at the store's data version by the thread that keeps pages made


def _keep_warm(site: Site, stop: threading.Event) -> None:
    seen = None
    while not stop.is_set():
        try:
            version = site.version()
            if version != seen:
                site.warm(stop)
                seen = version
        except TidingsError as exc:  # the store unreachable for a while: pages are made on demand meanwhile
            log.warning("making pages ahead of readers: %s", exc)
        stop.wait(WARM_EVERY)


# --- responses ------------------------------------------------------------------------------------------------

def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _answer(request: Request, body: bytes, etag: str, media_type: str, status: int = 200) -> Response:
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    asked = request.headers.get("if-none-match", "")
    if status == 200 and (asked.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in asked.split(",")]):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status, media_type=media_type, headers=headers)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _json(request: Request, data: Any) -> Response:
    body = _dumps(data).encode("utf-8")
    return _answer(request, body, _etag(body), "application/json")


def _errors(app: FastAPI) -> None:
    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"

    def error(request: Request, status: int, message: str) -> Response:
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=status)
        site: Site = request.app.state.site
        html = site.env.get_template("error.html").render(root="/", status=status, message=message)
        return Response(html, status_code=status, media_type=HTML)

    @app.exception_handler(Moved)
    async def moved(request: Request, exc: Moved) -> Response:
        return RedirectResponse(exc.location, status_code=301)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return error(request, 404, str(exc))

    @app.exception_handler(BadRequest)
    @app.exception_handler(SearchError)
    async def bad_request(request: Request, exc: TidingsError) -> Response:
        return error(request, 422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error(request, 422, "; ".join(_problem(e) for e in exc.errors()) or "invalid request")

    @app.exception_handler(TidingsError)
    async def failed(request: Request, exc: TidingsError) -> Response:
        return error(request, 503, str(exc))

    @app.exception_handler(404)
    async def unknown(request: Request, exc: Exception) -> Response:
        return error(request, 404, f"nothing at {request.url.path}")


# --- pages ----------------------------------------------------------------------------------------------------

def _pages(app: FastAPI, site: Site) -> None:
    page = app.get  # pages are not part of the API document

    async def html(request: Request, key: tuple, make: Callable[[], str | bytes], media_type: str = HTML
                   ) -> Response:
        return _answer(request, *await site.kept(key, make), media_type)

    def template_file(name: str) -> Callable[[], str]:
        return lambda: resources.files("tidings").joinpath(f"templates/{name}").read_text("utf-8")

    @page("/", include_in_schema=False)
    @page("/index.html", include_in_schema=False)
    async def home(request: Request) -> Response:
        def make() -> str:
            digests = site.store.digests()
            return pages.home_page(site.env, digests, {d.slug: site.ranked(d) for d in digests})
        return await html(request, ("home",), make)

    @page("/style.css", include_in_schema=False)
    async def style(request: Request) -> Response:
        return await html(request, ("style",), template_file("style.css"), "text/css; charset=utf-8")

    @page("/icon.svg", include_in_schema=False)
    async def icon(request: Request) -> Response:
        return await html(request, ("icon",), template_file("icon.svg"), "image/svg+xml")

    @page("/sources", include_in_schema=False)
    @page("/sources.html", include_in_schema=False)
    async def sources(request: Request) -> Response:
        return await html(request, ("sources",), lambda: pages.sources_page(site.env, site.store.sources(),
                                                                            site.store.digests()))

    @page("/search", include_in_schema=False)
    def search_page(request: Request, q: Annotated[str, Query(max_length=MAX_QUERY)] = "", digest: str = "",
                    since: str = "", until: str = "", publisher: str = "", verdict: str = "",
                    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Response:
        results, problem = None, ""
        try:
            if digest:
                site.digest(digest)
            if q.strip():
                results = search(site.store, q, digest=digest or None, since=_day(since, "since"),
                                 until=_day(until, "until", end=True), publisher=publisher or None,
                                 verdict=verdict or None, limit=20, offset=offset)
        except (SearchError, BadRequest, NotFound) as exc:
            problem = str(exc)
        body = site.env.get_template("search.html").render(
            root="/", q=q, digest=digest, since=since, until=until, publisher=publisher, verdict=verdict,
            digests=site.store.digests(), verdicts=VERDICTS, results=results, problem=problem).encode("utf-8")
        return _answer(request, body, _etag(body), HTML, 422 if problem else 200)

    @page("/{slug}", include_in_schema=False)
    def digest_bare(slug: str) -> Response:
        site.digest(slug)
        return RedirectResponse(f"/{slug}/", status_code=308)

    @page("/{slug}/", include_in_schema=False)
    @page("/{slug}/index.html", include_in_schema=False)
    async def digest_index(request: Request, slug: str) -> Response:
        def make() -> str:
            digest = site.digest(slug)
            ranked = site.ranked(digest)
            return pages.digest_page(site.env, digest, ranked, pages.archive_weeks(ranked))
        return await html(request, ("digest", slug), make)

    @page("/{slug}/archive/{week}", include_in_schema=False)
    @page("/{slug}/archive/{week}.html", include_in_schema=False)
    async def archive_week(request: Request, slug: str, week: str) -> Response:
        def make() -> str:
            digest = site.digest(slug)
            weeks = pages.archive_weeks(site.ranked(digest))
            if week not in weeks:
                raise NotFound(f"no stories of digest {slug!r} began in week {week!r}")
            return pages.archive_page(site.env, digest, week, weeks[week])
        return await html(request, ("archive", slug, week), make)

    @page("/{slug}/misinformation", include_in_schema=False)
    @page("/{slug}/misinformation.html", include_in_schema=False)
    async def misinformation_watch(request: Request, slug: str) -> Response:
        def make() -> str:
            digest = site.digest(slug)
            claims = misinformation(site.store, slug)
            live = {s.id for s in site.store.stories(slug)}
            return pages.misinformation_page(site.env, digest, claims, {g["story"] for g in claims} & live)
        return await html(request, ("misinformation", slug), make)

    @page("/{slug}/misinformation/{month}", include_in_schema=False)
    @page("/{slug}/misinformation/{month}.html", include_in_schema=False)
    async def misinformation_month(request: Request, slug: str, month: str) -> Response:
        def make() -> str:
            digest = site.digest(slug)
            months = pages.watch_months(misinformation(site.store, slug))
            if month not in months:
                raise NotFound(f"no flagged claims in digest {slug!r} from sources published in {month!r}")
            live = {s.id for s in site.store.stories(slug)}
            return pages.misinformation_month_page(site.env, digest, month, months[month],
                                                   {g["story"] for g in months[month]} & live)
        return await html(request, ("misinformation", slug, month), make)

    @page("/{slug}/feed.{kind}", include_in_schema=False)
    async def feed(request: Request, slug: str, kind: str) -> Response:
        formats = {"atom": (digest_atom, "application/atom+xml"), "rss": (digest_rss, "application/rss+xml"),
                   "json": (digest_json_feed, "application/feed+json")}
        if kind not in formats:
            raise NotFound(f"no feed.{kind}; the feeds are feed.atom, feed.rss and feed.json")
        make_feed, media_type = formats[kind]

        def make() -> bytes:
            digest = site.digest(slug)
            newest = [s.id for s in site.store.stories(slug)[:FEED_ENTRIES]]
            return make_feed(digest, feed_entries(site.env, site.store, newest), site.site_url)
        return await html(request, ("feed", slug, kind), make, media_type)

    @page("/{slug}/tracker", include_in_schema=False)
    @page("/{slug}/tracker.html", include_in_schema=False)
    async def tracker_page(request: Request, slug: str) -> Response:
        def make() -> str:
            from markupsafe import Markup

            from tidings.tracker import build_tracker, tracker_chart_svg

            digest = site.digest(slug)
            tracker = build_tracker(site.store, slug)
            return site.env.get_template("tracker.html").render(
                root="../", digest=digest, tracker=tracker, chart=Markup(tracker_chart_svg(tracker)),
                csv_url="tracker.csv")
        return await html(request, ("tracker", slug), make)

    @page("/{slug}/tracker.csv", include_in_schema=False)
    async def tracker_download(request: Request, slug: str) -> Response:
        def make() -> str:
            from tidings.tracker import build_tracker, tracker_csv

            site.digest(slug)
            return tracker_csv(build_tracker(site.store, slug))
        response = await html(request, ("tracker.csv", slug), make, "text/csv; charset=utf-8")
        response.headers["Content-Disposition"] = f'attachment; filename="{slug}-tracker.csv"'
        return response

    @page("/{slug}/stories/{name}", include_in_schema=False)
    async def story_page(request: Request, slug: str, name: str) -> Response:
        story_id = _number(name)
        return _answer(request, *await site.kept(*site.story_parts(slug, story_id)), HTML)

    @page("/{slug}/stories/{story_id}/{name}", include_in_schema=False)
    async def revision_page(request: Request, slug: str, story_id: int, name: str) -> Response:
        def make() -> str:
            number = _number(name, prefix="r")
            story = site.story(story_id, slug)
            revisions = site.store.revisions(story.id)
            k = next((k for k, r in enumerate(revisions) if r.number == number), None)
            if k is None:
                raise NotFound(f"story {story.id} has no revision {number}")
            return pages.revision_page(site.env, site.digest(slug), story, revisions, k)
        return await html(request, ("revision", slug, story_id, name), make)


def _number(name: str, prefix: str = "") -> int:
    """The number in a page's name: `12.html`, `12`, `r3.html`, `r3`."""
    stem = name.removesuffix(".html")
    if prefix:
        stem = stem.removeprefix(prefix) if stem.startswith(prefix) else ""
    if not stem.isdigit() or len(stem) > 12:
        raise NotFound(f"no page {name!r}")
    return int(stem)


def _day(value: str, name: str, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD filter as a time (the end of the day for an upper bound)."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"{name}: {value!r} is not a date; use YYYY-MM-DD") from None
    return day.replace(hour=23, minute=59, second=59) if end else day


def _instant(value: datetime | None, name: str) -> datetime | None:
    """A time parameter in UTC (one without a zone is UTC); one that UTC cannot hold ("0001-01-01T00:00+00:01")
    is a bad parameter, not a server error."""
    if value is None:
        return None
    try:
        return as_utc(value).astimezone(UTC)
    except (OverflowError, ValueError):
        raise BadRequest(f"{name}: {value.isoformat()} is out of range") from None


# --- API ------------------------------------------------------------------------------------------------------

def _api(app: FastAPI, site: Site) -> None:
    @app.get("/api", include_in_schema=False)
    @app.get("/api/", include_in_schema=False)
    def api_root() -> Response:
        return RedirectResponse("/api/docs", status_code=307)

    @app.get("/api/digests", tags=["digests"], summary="Every digest",
             responses=_documented(schemas.Digests))
    def api_digests(request: Request) -> Response:
        return _json(request, {"digests": [digest_json(d) for d in site.store.digests()]})

    @app.get("/api/stories", tags=["stories"], summary="Stories, most recently updated first",
             responses=_documented(schemas.StoryList))
    async def api_stories(request: Request, digest: str | None = None, updated_since: datetime | None = None,
                          limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50, cursor: str | None = None
                          ) -> Response:
        def make() -> str:
            if digest:
                site.digest(digest)
            after = _cursor(cursor) if cursor else None
            ids = site.store.story_ids_page(digest, _instant(updated_since, "updated_since"), limit + 1, after)
            more = len(ids) > limit
            stories = site.store.stories_by_id(ids[:limit])
            latest = site.store.latest_revisions([s.id for s in stories])
            last = stories[-1] if stories and more else None
            return _dumps({"stories": [story_summary(s, latest.get(s.id)) for s in stories],
                           "next_cursor": _make_cursor(last.updated, last.id) if last else None})
        found = await site.kept(("api-stories", digest, updated_since, limit, cursor), make)
        return _answer(request, *found, "application/json")

    @app.get("/api/stories/{story_id}", tags=["stories"], summary="A story: its current revision, sources and "
                                                                   "fact check, and its revision history",
             responses=_documented(schemas.StoryOut))
    async def api_story(request: Request, story_id: int) -> Response:
        def make() -> str:
            story = site.story(_story_id(story_id))
            return _dumps(story_json(story, site.store.revisions(story.id), history=False))

        def token() -> object:
            story = site.story(_story_id(story_id))
            return story.updated, story.revision_count
        return _answer(request, *await site.kept(("api-story", story_id), make, token), "application/json")

    @app.get("/api/stories/{story_id}/revisions/{number}", tags=["stories"], summary="One revision of a story",
             responses=_documented(schemas.StoryRevision))
    def api_revision(request: Request, story_id: int, number: int) -> Response:
        story = site.story(_story_id(story_id))
        found = next((r for r in site.store.revisions(story.id) if r.number == number), None)
        if found is None:
            raise NotFound(f"story {story.id} has no revision {number}")
        return _json(request, {"story_id": story.id, **revision_json(found)})

    @app.get("/api/items/{item_id}", tags=["items"], summary="An item with its checked claims and stories",
             responses=_documented(schemas.ItemOut))
    def api_item(request: Request, item_id: int) -> Response:
        found = site.store.items([item_id]) if 0 < item_id < 2**63 else []
        if not found:
            raise NotFound(f"no item {item_id}")
        item = found[0]
        stories = site.store.item_stories([item.id]).get(item.id, [])
        return _json(request, {**item_json(item, site.store.claims([item.id])),
                               "stories": [{"id": k, "digest": d, "title": t} for k, d, t in stories]})

    @app.get("/api/tracker", tags=["tracker"], summary="Open and closed models: each model's facts with their "
                                                       "evidence, and every reported benchmark score",
             responses=_documented(schemas.Tracker))
    def api_tracker(request: Request, digest: str | None = None) -> Response:
        from tidings.tracker import build_tracker, tracker_json

        if digest:
            site.digest(digest)
        body, etag = site.page(("api-tracker", digest), lambda: _dumps(tracker_json(build_tracker(site.store, digest))))
        return _answer(request, body, etag, "application/json")

    @app.get("/api/search", tags=["search"], summary="Search the items: words (any), \"quoted phrases\"",
             responses=_documented(schemas.SearchResults))
    def api_search(request: Request, q: Annotated[str, Query(max_length=MAX_QUERY)], digest: str | None = None,
                   since: datetime | None = None, until: datetime | None = None, publisher: str | None = None,
                   verdict: str | None = None, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
                   offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Response:
        if digest:
            site.digest(digest)
        found = search(site.store, q, digest=digest, since=_instant(since, "since"), until=_instant(until, "until"),
                       publisher=publisher, verdict=verdict, limit=limit, offset=offset)
        return _json(request, {"results": [
            {"item": {k: v for k, v in item_json(h.item).items() if k not in ("text", "claims")},
             "title": plain(h.title), "snippet": plain(h.passage), "title_html": str(h.title),
             "snippet_html": str(h.passage),
             "stories": [{"id": k, "digest": d, "title": t} for k, d, t in h.stories]} for h in found.hits],
            "next_offset": offset + limit if found.more else None})


def _documented(model: type) -> dict:
    """The answers a route documents: its object, and the one-line errors."""
    return {200: {"model": model, "description": "OK"}, 304: {"description": "Not modified (ETag matched)"},
            404: {"model": schemas.Error, "description": "Not found"},
            422: {"model": schemas.Error, "description": "A parameter that cannot be used"}}


def _problem(e: Mapping) -> str:
    """One parameter's problem in words a person reads: what it is, and what it should be."""
    name = ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0])
    kind, ctx, given = e.get("type", ""), e.get("ctx") or {}, e.get("input")
    shown = repr(given) if isinstance(given, str) and len(given) <= 40 else "the value given"
    if kind == "missing":
        return f"{name}: required"
    if kind in ("int_parsing", "int_from_float"):
        return f"{name}: {shown} is not a whole number"
    if kind.startswith(("datetime_", "date_")):
        return f"{name}: {shown} is not a date; use YYYY-MM-DD or a time such as 2026-03-14T09:00:00Z"
    if kind == "greater_than_equal":
        return f"{name}: must be {ctx.get('ge')} or more"
    if kind == "less_than_equal":
        return f"{name}: must be {ctx.get('le')} or less"
    if kind == "string_too_long":
        return f"{name}: at most {ctx.get('max_length')} characters"
    return f"{name}: {e.get('msg', 'cannot be used')}"


def _story_id(story_id: int) -> int:
    if not 0 < story_id < 2**63:
        raise NotFound(f"no story {story_id}")
    return story_id


def _make_cursor(updated: datetime, story_id: int) -> str:
    raw = json.dumps([updated.isoformat(), story_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, story_id = json.loads(raw)
        if type(story_id) is not int or not 0 < story_id < 2**63:
            raise ValueError(story_id)
        return datetime.fromisoformat(when), story_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise BadRequest("cursor: not one this server gave out; start again without it") from None
