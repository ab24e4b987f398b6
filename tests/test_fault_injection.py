"""Fault injection: whole pipeline runs, each in its own process, against a hostile HTTP server on 127.0.0.1
(tests/fault_server.py) that stalls for 60 s, resets connections, answers 500, 429 with Retry-After, 404 and 410,
redirects in a loop, sends 50 MB or a gzip bomb, declares the wrong charset, sends entity bombs, XXE and HTML, and
answers 304 to a conditional request, while two healthy feeds sit beside the faulty sources.

Three scheduled runs (`Schedule(due_only=True)`) with a fixed `now`:

1. NOW, every fault on: the run completes, the healthy feeds are ingested, every faulty source has one clear line
   of error and its backoff (Retry-After for 429; never again for 410).
2. NOW + 30 min: nothing is due yet (a first backoff is at least 48 min), so nothing at all is requested.
3. NOW + 2 days, every fault removed: every source that failed is due and ingested normally, its errors reset;
   the 304 source is asked with its validators and is not parsed; the gone source is not asked at all.

Each run's peak RSS (the process's own high-water mark) must stay under 300 MB.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests import fault_server as fs
from tests.conftest import NOW
from tidings.config import load_config
from tidings.model import Item, Source
from tidings.store import Store

BETWEEN = NOW + timedelta(minutes=30)  # before any backoff or healthy interval has passed
RECOVERED = NOW + timedelta(days=2)  # after every backoff (24 h at most)
FETCH_TIMEOUT = 2
MAX_RSS_MB = 300
RUN_TIMEOUT = 180  # a run still going after this is killed, and the test fails
SETTINGS = {"allow_private_networks": True, "host_delay": 0.0, "host_connections": 8,
            "fetch_timeout": FETCH_TIMEOUT, "source_deadline": 4, "run_deadline": 40, "fetch_full_text": False,
            "poll_interval_minutes": 60, "max_backoff_hours": 24}
# The first failure waits one interval (60 min), give or take 20 % of jitter.
FIRST_BACKOFF = (timedelta(minutes=48), timedelta(minutes=72))
HEALTHY_WAIT = (timedelta(minutes=51), timedelta(minutes=58.2))  # 85-97 % of the interval


@dataclass(frozen=True)
class Fault:
    name: str
    fault: fs.Behaviour
    error: str  # a pattern the source's one-line error must match, after its URL
    status: str = "error"

    @property
    def path(self) -> str:
        return f"/{self.name}.xml"


RESET = r"^(ReadError|RemoteProtocolError): .*(reset by peer|disconnected|closed connection)"
# Sources that fail while their fault is on, and read normally once it is removed.
FAULTS = [
    Fault("stall", fs.stall_before_headers, rf"took longer than {FETCH_TIMEOUT}s in all; gave up"),
    Fault("stall-mid-body", fs.stall_mid_body("stall-mid-body"), rf"took longer than {FETCH_TIMEOUT}s in all; gave up"),
    Fault("reset", fs.reset_at_once, RESET),
    Fault("reset-mid-body", fs.reset_mid_body("reset-mid-body"), RESET),
    Fault("http-500", fs.serve(b"<h1>oops</h1>", 500, Content_Type="text/html"), r"HTTP 500 Internal Server Error$"),
    Fault("http-429", fs.serve(b"slow down", 429, Retry_After=str(fs.RETRY_AFTER)),
          rf"HTTP 429 Too Many Requests \(asked to wait {fs.RETRY_AFTER}s\)$"),
    Fault("redirect-loop", fs.redirect_to("/redirect-loop-b"), r"redirect loop at http://127\.0\.0\.1:\d+/redirect-loop"),
    Fault("big-body", fs.big_body, r"larger than 10 MB$"),
    Fault("gzip-bomb", fs.serve(fs.BOMB, Content_Encoding="gzip"), r"larger than 10 MB$"),
    Fault("html", fs.serve(fs.HTML_PAGE, Content_Type="text/html; charset=utf-8"),
          r"expected a feed, got an HTML page \('Welcome to the portal'\)$"),
    Fault("http-404", fs.serve(b"not here", 404, Content_Type="text/plain"), r"HTTP 404 Not Found$"),
]
GONE = Fault("http-410", fs.serve(b"gone", 410, Content_Type="text/plain"), r"HTTP 410 Gone \(the server says it is "
             r"gone for good; it is not read again until you add it again\)$", status="gone")
HEALTHY = ["healthy-one", "healthy-two"]
LAUGHS, XXE, CHARSET, NOT_MODIFIED = "billion-laughs", "xxe", "wrong-charset", "not-modified"


def path_of(name: str) -> str:
    return f"/{name}.xml"


# --- the child process ---------------------------------------------------------------------------------------------

CHILD = """
import json, sys
from datetime import datetime
from tidings.config import load_config
from tidings.pipeline import Schedule, run
stats = run(load_config(sys.argv[1]), now=datetime.fromisoformat(sys.argv[2]), schedule=Schedule(due_only=True))
print(json.dumps({"sources": stats.sources, "ok": stats.sources_ok, "unchanged": stats.sources_unchanged,
                  "failed": stats.sources_failed, "new": stats.items_new, "errors": list(stats.errors),
                  "seconds": stats.seconds, "publish_error": stats.publish_error,
                  # The process's own peak, read from inside: wait4's figure would include the memory pytest
                  # had when it forked this child.
                  "peak_kb": next(int(line.split()[1]) for line in open("/proc/self/status")
                                  if line.startswith("VmHWM:"))}))
"""


@dataclass(frozen=True)
class Run:
    stats: dict
    stderr: str
    peak_rss_mb: float
    sources: dict[str, Source]  # by path, as stored after the run
    requests: list[fs.Seen]  # what the server got during the run
    items: list[Item]  # every item stored after the run

    def items_of(self, path: str) -> list[Item]:
        return [i for i in self.items if self.sources[path].id in i.source_ids]

    def asked(self, path: str) -> list[fs.Seen]:
        return [r for r in self.requests if r.path == path]


def run_pipeline(config: Path, now, server: fs.FaultServer) -> Run:
    """One scheduled run in its own process, which reports its own peak RSS."""
    mark = server.mark()
    out, err = config.with_name("run.out"), config.with_name("run.err")
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(config), now.isoformat()], stdout=stdout,
                                stderr=stderr, cwd=config.parent)
    watchdog = threading.Timer(RUN_TIMEOUT, proc.kill)
    watchdog.start()
    try:
        _, status, _ = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr_text = err.read_text(errors="replace")
    assert proc.returncode == 0, f"the run at {now} did not complete (exit {proc.returncode}):\n{stderr_text[-3000:]}"
    store = Store(load_config(config).db_url)
    try:
        sources = {s.url.removeprefix(server.base): s for s in store.sources()}
        items = store.items()
    finally:
        store.close()
    stats = json.loads(out.read_text())
    return Run(stats, stderr_text, stats["peak_kb"] / 1024, sources, server.seen(since=mark), items)


def write_config(folder: Path, urls: list[str]) -> Path:
    """A tidings.toml like conftest's make_config builds, written out for the child process to load."""
    lines = [f"db = {json.dumps(str(folder / 'tidings.db'))}", f"site_dir = {json.dumps(str(folder / 'site'))}",
             "", "[settings]", *(f"{k} = {json.dumps(v)}" for k, v in SETTINGS.items()),
             "", "[[digests]]", 'slug = "news"', 'title = "News"', 'description = "General news"',
             'keywords = ["harbour", "barrier", "comet"]']
    for url in urls:
        lines += ["", "[[sources]]", f"url = {json.dumps(url)}"]
    path = folder / "tidings.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Scenario:
    server: fs.FaultServer
    first: Run  # NOW, faults on
    between: Run  # NOW + 30 min
    recovered: Run  # NOW + 2 days, faults removed

    @property
    def runs(self) -> list[Run]:
        return [self.first, self.between, self.recovered]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    server, httpd = fs.start()
    try:
        for fault in [*FAULTS, GONE]:
            server.route(fault.path, "fault", fault=fault.fault, healthy=fs.feed_of(fault.name))
        server.route("/redirect-loop-b", "loop", loop=fs.redirect_to("/redirect-loop.xml"))
        for name in HEALTHY:
            server.route(path_of(name), "healthy", healthy=fs.feed_of(name))
        server.route(path_of(LAUGHS), "fault", fault=fs.serve(fs.entity_feed(LAUGHS, fs.LAUGHS, "&lol9;")),
                     healthy=fs.feed_of(LAUGHS))
        server.route(path_of(XXE), "fault", fault=fs.serve(fs.entity_feed(XXE, fs.XXE, "&xxe;")),
                     healthy=fs.feed_of(XXE))
        wrong = fs.serve(fs.zurich_feed(), Content_Type="application/rss+xml; charset=iso-8859-1")
        server.route(path_of(CHARSET), "fault", fault=wrong,
                     healthy=fs.serve(fs.zurich_feed(), Content_Type="application/rss+xml; charset=utf-8"))
        # The 304 source: first a feed with validators, then a 304 to a request that carries them (and a body that
        # is not a feed to one that does not).
        server.route(path_of(NOT_MODIFIED), "healthy", conditional=fs.conditional(NOT_MODIFIED),
                     healthy=fs.serve(fs.healthy_feed(NOT_MODIFIED), ETag=fs.ETAG, Last_Modified=fs.LAST_MODIFIED))
        paths = [p for p in server.routes if p != "/redirect-loop-b"]
        config = write_config(tmp_path_factory.mktemp("faults"), [server.url(p) for p in paths])

        first = run_pipeline(config, NOW, server)
        between = run_pipeline(config, BETWEEN, server)
        for path, behaviours in server.routes.items():  # remove every fault
            if "healthy" in behaviours and path != path_of(NOT_MODIFIED):
                server.modes[path] = "healthy"
        server.modes[path_of(NOT_MODIFIED)] = "conditional"
        recovered = run_pipeline(config, RECOVERED, server)
        yield Scenario(server, first, between, recovered)
    finally:
        fs.stop(server, httpd)


# --- every fault: one clear line, its backoff, the others untouched, and back to normal once removed -----------------

def one_line_error(source: Source, url: str, pattern: str, name: str) -> None:
    error = source.last_error or ""
    assert "\n" not in error and "\r" not in error, f"{name}: error is not one line: {error!r}"
    assert error.startswith(f"{url}: "), f"{name}: error does not start with the source's URL: {error!r}"
    assert re.search(pattern, error[len(url) + 2:]), f"{name}: error {error!r} does not match {pattern!r}"
    assert "Traceback" not in error and len(error) < 400, f"{name}: not a clear line: {error!r}"


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_a_faulty_source_fails_in_one_line_and_backs_off(scenario, fault):
    run, url = scenario.first, scenario.server.url(fault.path)
    source = run.sources[fault.path]
    assert source.status == fault.status, f"{fault.name}: status {source.status!r}, error {source.last_error!r}"
    one_line_error(source, url, fault.error, fault.name)
    assert source.consecutive_errors == 1 and source.item_count == 0 and source.last_success is None, fault.name
    assert len(run.asked(fault.path)) == 1, f"{fault.name}: asked {len(run.asked(fault.path))} times in one run"
    earliest, latest = FIRST_BACKOFF
    if fault.name == "http-429":
        earliest = latest = timedelta(seconds=fs.RETRY_AFTER)  # the server's wait, longer than the backoff
    assert source.next_check is not None and NOW + earliest - timedelta(seconds=1) <= source.next_check \
        <= NOW + latest + timedelta(seconds=1), f"{fault.name}: next check {source.next_check} (now {NOW})"
    # The run's report says it in one line too, with when it is tried again.
    reported = [e for e in run.stats["errors"] if url + ":" in e]
    assert len(reported) == 1 and "\n" not in reported[0], f"{fault.name}: reported {reported!r}"
    assert f"after {source.next_check:%Y-%m-%d %H:%M} UTC" in reported[0], reported[0]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_a_source_whose_fault_is_removed_is_read_normally_at_its_next_due_run(scenario, fault):
    assert scenario.between.asked(fault.path) == [], f"{fault.name}: asked again before its backoff passed"
    run = scenario.recovered
    source = run.sources[fault.path]
    assert len(run.asked(fault.path)) == 1, f"{fault.name}: not asked once after its backoff"
    assert (source.status, source.last_error, source.consecutive_errors) == ("ok", None, 0), \
        f"{fault.name}: {source.status} {source.last_error!r} after the fault was removed"
    assert source.item_count == 1 and source.last_success == RECOVERED, fault.name
    assert source.title == f"{fault.name} wire", fault.name
    assert NOW + HEALTHY_WAIT[0] <= source.next_check - (RECOVERED - NOW) <= NOW + HEALTHY_WAIT[1], fault.name


def test_the_healthy_sources_are_read_normally_beside_the_faults(scenario):
    first = scenario.first
    for name in HEALTHY:
        source = first.sources[path_of(name)]
        assert (source.status, source.last_error, source.item_count) == ("ok", None, 1), name
        assert source.title == f"{name} wire" and len(first.asked(path_of(name))) == 1, name
    stats = first.stats
    assert stats["failed"] == len(FAULTS) + 1, stats  # the 410 too
    assert stats["sources"] == len(scenario.server.routes) - 1, stats  # every source but the loop's second hop
    assert stats["publish_error"] is None, stats
    # A hostile source never reaches the "unexpected error" path, which logs a traceback.
    for run in scenario.runs:
        assert "Traceback" not in run.stderr and "unexpected error" not in run.stderr, run.stderr[-3000:]


def test_a_60_second_stall_is_cut_by_the_deadline(scenario):
    assert [r.status for r in scenario.first.asked("/stall.xml")] == [None]  # it never answered
    # The stalled sources did not hold up the run: it would take a minute if it waited for them.
    fetch_seconds = scenario.first.stats["seconds"]["fetch"]
    assert fetch_seconds < 30, fetch_seconds


def test_a_redirect_loop_is_followed_around_once_only(scenario):
    asked = scenario.first.requests
    assert [(r.path, r.status) for r in asked if r.path.startswith("/redirect-loop")] == \
        [("/redirect-loop.xml", 302), ("/redirect-loop-b", 302)]


def test_nothing_is_asked_before_its_time(scenario):
    between = scenario.between
    assert between.requests == [], [r.path for r in between.requests]
    assert between.stats["sources"] == 0, between.stats


# --- 410: gone for good ------------------------------------------------------------------------------------------

def test_a_410_source_is_gone_and_never_asked_again(scenario):
    url = scenario.server.url(GONE.path)
    source = scenario.first.sources[GONE.path]
    assert source.status == GONE.status and source.next_check is None and source.consecutive_errors == 1
    one_line_error(source, url, GONE.error, GONE.name)
    assert len(scenario.first.asked(GONE.path)) == 1
    # Its route answers a good feed by the last run, but nobody asks.
    assert scenario.server.modes[GONE.path] == "healthy"
    assert scenario.between.asked(GONE.path) == [] and scenario.recovered.asked(GONE.path) == []
    after = scenario.recovered.sources[GONE.path]
    assert (after.status, after.next_check, after.item_count) == ("gone", None, 0)


# --- 304 ----------------------------------------------------------------------------------------------------------

def test_a_304_keeps_the_source_as_it_was_without_reading_a_body(scenario):
    path = path_of(NOT_MODIFIED)
    [first] = scenario.first.asked(path)
    assert "if-none-match" not in first.headers and "if-modified-since" not in first.headers
    assert first.status == 200
    stored = scenario.first.sources[path]
    assert (stored.status, stored.item_count) == ("ok", 1)
    [second] = scenario.recovered.asked(path)
    # The conditional request carried both validators, and the server answered 304; any other request would have
    # got a body that is not a feed, and the source would have failed.
    assert second.headers.get("if-none-match") == fs.ETAG, second.headers
    assert second.headers.get("if-modified-since") == fs.LAST_MODIFIED, second.headers
    assert second.status == 304
    after = scenario.recovered.sources[path]
    assert (after.status, after.last_error, after.consecutive_errors, after.item_count) == ("ok", None, 0, 1)
    assert after.last_fetched == after.last_success == RECOVERED and after.next_check > RECOVERED


# --- hostile contents: entity bombs, XXE, a wrong charset ---------------------------------------------------------

@pytest.mark.parametrize("name", [LAUGHS, XXE])
def test_entities_are_never_expanded(scenario, name):
    """A billion-laughs DOCTYPE and an external entity naming /etc/passwd: the feed is read, or refused, without
    expanding either (the run's memory is checked below)."""
    path = path_of(name)
    source = scenario.first.sources[path]
    assert source.status in ("ok", "warning") and source.consecutive_errors == 0, (name, source.last_error)
    if source.last_error:
        one_line_error(source, scenario.server.url(path), r"^feed has errors \(.*\); kept 1 entries$", name)
    [item] = scenario.first.items_of(path)
    assert item.title.startswith(fs.story_title(name)) and "desk adds" in item.text, (name, item)
    for item in scenario.first.items:  # in no item of any source
        shown = item.title + item.text
        assert "lollol" not in shown and "root:" not in shown and "/bin/" not in shown, (name, item)
        assert len(item.title) < 200 and len(item.text) < 2000, (name, len(item.title), len(item.text))


def test_a_wrong_declared_charset_keeps_the_right_text(scenario):
    """The header says ISO-8859-1, the bytes are UTF-8: the text is stored right, with a one-line warning."""
    path = path_of(CHARSET)
    source = scenario.first.sources[path]
    assert (source.status, source.consecutive_errors, source.title) == ("warning", 0, "Zürich wire")
    one_line_error(source, scenario.server.url(path),
                   r"^declared charset 'iso-8859-1' does not fit the bytes; read as utf-8$", CHARSET)
    [item] = scenario.first.items_of(path)
    assert item.title == fs.ZURICH_TITLE and "The barrier in Zürich cost 80 million francs." in item.text
    assert "Ã" not in item.title + item.text  # no mojibake


@pytest.mark.parametrize("name", [LAUGHS, XXE, CHARSET])
def test_a_warning_clears_once_the_source_is_clean(scenario, name):
    path = path_of(name)
    source = scenario.recovered.sources[path]
    assert (source.status, source.last_error, source.consecutive_errors) == ("ok", None, 0), name
    assert source.item_count == 1 and len(scenario.recovered.asked(path)) == 1, name
    [item] = scenario.recovered.items_of(path)
    assert "&lol" not in item.title and "&xxe" not in item.title, item.title


# --- memory ---------------------------------------------------------------------------------------------------------

def test_memory_stays_bounded(scenario):
    """Peak RSS of each run's process, measured from outside: a 50 MB body and a gzip bomb are never held."""
    peaks = [round(r.peak_rss_mb, 1) for r in scenario.runs]
    assert max(peaks) < MAX_RSS_MB, peaks
