"""Polling state, backoff, politeness per host, deadlines, readers by kind, and `tidings run --every`."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import ARTICLE_A, ARTICLE_B, NOW, make_config, rss
from tidings.cli import cli
from tidings.config import ConfigError, Settings, parse_config
from tidings.ingest import read_source
from tidings.ingest.fetch import retry_after
from tidings.ingest.politeness import HostGate
from tidings.ingest.schedule import after_read, backoff, is_due
from tidings.model import FetchResult, Source
from tidings.pipeline import Schedule, opened, run
from tidings.store import Store

A = {"title": "Port Ellery approves tidal barrier", "link": "https://wire.example/barrier", "text": ARTICLE_A}
B = {"title": "Comet visible this weekend", "link": "https://wire.example/comet", "text": ARTICLE_B}
TEASER = "The harbour authority met on Thursday. Read more"


# --- the schedule, as pure functions ------------------------------------------------------------------------------

def test_backoff_doubles_from_the_interval_up_to_the_cap_with_jitter():
    settings = Settings(poll_interval_minutes=30, max_backoff_hours=24)
    rng = random.Random(7)
    waits = [backoff(n, 1800, settings, rng) for n in range(1, 12)]
    for n, wait in enumerate(waits[:5], start=1):
        assert 0.8 * 1800 * 2 ** (n - 1) <= wait <= 1.2 * 1800 * 2 ** (n - 1)
    assert all(wait <= 24 * 3600 for wait in waits) and waits[-1] > 0.7 * 24 * 3600
    assert len({round(w) for w in waits[:5]}) == 5  # jittered, so sources failing together drift apart


def test_retry_after_is_never_undercut_and_the_cap_still_holds():
    settings = Settings(max_backoff_hours=1)
    rng = random.Random(1)
    assert backoff(1, 60, settings, rng, retry_after=900) >= 900
    assert backoff(1, 60, settings, rng, retry_after=10**6) <= 3600


def test_retry_after_header_reads_seconds_and_dates():
    assert retry_after("120") == 120
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past: no wait
    assert 3000 < retry_after((NOW.now() + timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")) <= 3600
    assert retry_after("soon") is None and retry_after(None) is None


def test_a_failure_backs_off_a_success_resets_and_410_is_gone():
    settings = Settings(poll_interval_minutes=60)
    source = Source(url="https://x.example/feed", id=1, consecutive_errors=2)
    failed = after_read(source, FetchResult(source, status="error", error="HTTP 500"), NOW, settings)
    assert failed.status == "error" and failed.consecutive_errors == 3 and not failed.succeeded
    assert failed.next_check - NOW >= timedelta(hours=4 * 0.8)
    ok = after_read(source, FetchResult(source), NOW, settings)
    assert ok.consecutive_errors == 0 and ok.succeeded and timedelta(0) < ok.next_check - NOW <= timedelta(hours=1)
    gone = after_read(source, FetchResult(source, status="error", error="HTTP 410 Gone", http_status=410),
                      NOW, settings)
    assert gone.status == "gone" and gone.next_check is None and "not read again" in gone.error
    assert not is_due(Source(url="u", status="gone"), NOW)
    assert is_due(Source(url="u", next_check=NOW), NOW) and not is_due(Source(url="u", next_check=NOW +
                                                                            timedelta(seconds=1)), NOW)


# --- a server whose answers the tests choose --------------------------------------------------------------------------

class Server:
    """Routes to (status, headers, body, delay); counts requests per path and records their headers."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict, bytes, float]] = {}
        self.hits: dict[str, int] = {}
        self.log: list[tuple[str, float, float]] = []  # (path, start, end)
        self.active = self.peak = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                start = time.monotonic()
                with owner.lock:
                    owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
                    owner.active += 1
                    owner.peak = max(owner.peak, owner.active)
                try:
                    status, headers, body, delay = owner.routes.get(self.path, (404, {}, b"not here", 0))
                    time.sleep(delay)
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with owner.lock:
                        owner.active -= 1
                        owner.log.append((self.path, start, time.monotonic()))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *args: None  # a client that gave up mid-answer is expected here
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def feed(self, path: str, items: list[dict], status: int = 200, delay: float = 0.0, **headers) -> None:
        self.routes[path] = (status, {"Content-Type": "application/rss+xml", **headers},
                             rss(items).encode(), delay)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def _config(tmp_path: Path, server: Server, paths: list[str], **settings):
    """The config, also written to its file for the commands that read it."""
    config = make_config(tmp_path, [{"url": server.base + p} for p in paths], **settings)
    sources = "".join(f'[[sources]]\nurl = "{server.base}{p}"\n' for p in paths)
    config.path.write_text(f'db = "{config.db}"\nsite_dir = "{tmp_path / "site"}"\n[[digests]]\nslug = "news"\n'
                           f'[settings]\nallow_private_networks = true\nhost_delay = 0\n{sources}')
    return config


def _sources(config) -> dict[str, Source]:
    with opened(config) as store:
        return {s.url.rsplit("/", 1)[-1]: s for s in store.sources()}


# --- polling through the pipeline -------------------------------------------------------------------------------------

def test_a_failing_source_waits_its_backoff_then_comes_back_and_resets(tmp_path, server):
    server.feed("/good", [A])
    server.routes["/flaky"] = (500, {}, b"oops", 0)
    config = _config(tmp_path, server, ["/good", "/flaky"], poll_interval_minutes=60)
    run(config, now=NOW, publish=False, schedule=Schedule(due_only=True))
    flaky = _sources(config)["flaky"]
    assert flaky.status == "error" and flaky.consecutive_errors == 1 and flaky.last_success is None
    assert "HTTP 500" in flaky.last_error and "\n" not in flaky.last_error
    assert flaky.next_check > NOW + timedelta(minutes=40)

    server.feed("/flaky", [B])  # fixed, but not yet due: a scheduled run leaves it alone
    later = NOW + timedelta(minutes=20)
    stats = run(config, now=later, publish=False, schedule=Schedule(due_only=True))
    assert server.hits["/flaky"] == 1 and stats.sources == 0

    much_later = NOW + timedelta(hours=3)
    stats = run(config, now=much_later, publish=False, schedule=Schedule(due_only=True))
    back = _sources(config)["flaky"]
    assert server.hits["/flaky"] == 2 and stats.items_new == 1
    assert back.status == "ok" and back.consecutive_errors == 0 and back.last_success == much_later
    assert back.next_check > much_later


def test_a_manual_run_reads_a_backing_off_source_but_never_a_gone_one(tmp_path, server):
    server.routes["/flaky"] = (503, {"Retry-After": "7200"}, b"busy", 0)
    server.routes["/old"] = (410, {}, b"gone", 0)
    server.feed("/good", [A])
    config = _config(tmp_path, server, ["/good", "/flaky", "/old"])
    run(config, now=NOW, publish=False)
    state = _sources(config)
    assert state["flaky"].next_check >= NOW + timedelta(seconds=7200)
    assert "asked to wait 7200s" in state["flaky"].last_error
    assert state["old"].status == "gone" and state["old"].next_check is None
    run(config, now=NOW + timedelta(minutes=1), publish=False)
    assert server.hits["/flaky"] == 2 and server.hits["/old"] == 1

    # Adding it again says "read it": it is due at once with a clean record.
    server.feed("/old", [B])
    result = CliRunner().invoke(cli, ["-c", str(config.path), "sources", "add", server.base + "/old"])
    assert result.exit_code == 0, result.output
    assert _sources(config)["old"].status == "new"
    stats = run(config, now=NOW + timedelta(minutes=2), publish=False, schedule=Schedule(due_only=True))
    assert server.hits["/old"] == 3 and stats.items_new == 1  # one look when it was added, one read


def test_sources_list_shows_each_sources_health(tmp_path, server):
    server.feed("/good", [A])
    server.routes["/broken"] = (500, {}, b"", 0)
    config = _config(tmp_path, server, ["/good", "/broken"])
    run(config, now=NOW, publish=False)
    run(config, now=NOW + timedelta(minutes=1), publish=False)
    out = CliRunner().invoke(cli, ["-c", str(config.path), "sources", "list"]).output
    good, broken = out.split(f"{server.base}/broken", 1)
    assert "last success 2026-03-20 12:01 UTC · next check" in good
    assert "last success never · 2 failed reads in a row · next check" in broken
    assert "last error: " in broken and "HTTP 500" in broken
    listed = CliRunner().invoke(cli, ["-c", str(config.path), "sources", "list", "--json"]).output
    assert '"consecutive_errors": 2' in listed and '"kind": "feed"' in listed


def test_polling_state_survives_in_an_older_store(tmp_path):
    """A store made before polling state existed gains it, and its healthy sources keep their last success."""
    path = tmp_path / "old.db"
    Store(str(path)).close()
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("DELETE FROM migrations WHERE name = '0007_source_polling'")
    for column in ("kind", "next_check", "check_interval", "consecutive_errors", "last_success"):
        db.execute(f"ALTER TABLE sources DROP COLUMN {column}")
    db.execute("INSERT INTO sources (url, name, digests, status, created, last_fetched) VALUES "
               "('https://x.example/feed', '', '[]', 'ok', '2026-03-01 10:00:00', '2026-03-02 10:00:00')")
    db.commit()
    db.close()
    store = Store(str(path))
    [source] = store.sources()
    store.close()
    assert source.last_success is not None and source.last_success.day == 2 and source.consecutive_errors == 0


# --- politeness and deadlines -----------------------------------------------------------------------------------------

def test_one_host_gets_at_most_its_connections_and_a_pause_between_requests(tmp_path, server):
    paths = [f"/f{i}" for i in range(6)]
    for i, p in enumerate(paths):
        server.feed(p, [dict(A, link=f"https://wire.example/{i}", title=f"Barrier news {i}")], delay=0.3)
    config = _config(tmp_path, server, paths, host_connections=2, host_delay=0.2)
    run(config, now=NOW, publish=False)
    assert server.peak <= 2
    starts = sorted(start for _, start, _ in server.log)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 6 and min(gaps) >= 0.15  # never two requests to the host at the same moment


def test_waiting_for_a_turn_at_the_host_is_not_the_servers_slowness(tmp_path, server):
    paths = [f"/w{i}" for i in range(3)]
    for i, p in enumerate(paths):
        server.feed(p, [dict(A, link=f"https://wire.example/w{i}", title=f"Barrier note {i}")])
    config = _config(tmp_path, server, paths, host_connections=1, host_delay=1.2, fetch_timeout=1)
    stats = run(config, now=NOW, publish=False)
    assert stats.sources_failed == 0 and stats.sources_ok == 3  # the last waited 2.4 s for its turn, fine


def test_the_gate_waits_no_longer_than_the_deadline():
    gate = HostGate(connections=1, delay=5)
    with gate.slot("http://h.example/a"):
        pass
    with pytest.raises(TimeoutError), gate.slot("http://h.example/b", deadline=time.monotonic() + 0.5):
        pass
    with gate.slot("http://other.example/a", deadline=time.monotonic() + 0.5):
        pass  # another host has its own turn


def test_a_slow_source_is_left_for_the_next_run_when_the_runs_deadline_passes(tmp_path, server):
    server.feed("/good", [A])
    server.feed("/slow", [B], delay=4)
    config = _config(tmp_path, server, ["/good", "/slow"], run_deadline=1, fetch_timeout=10)
    stats = run(config, now=NOW, publish=False)
    assert stats.items_new == 1 and any("not read within the run's 1s" in e for e in stats.errors)
    assert _sources(config)["slow"].status == "new"  # untouched: due again at the next run


def test_teasers_keep_their_text_when_the_source_runs_out_of_time(tmp_path, server):
    teasers = [{"title": f"Barrier story {i}", "link": f"{server.base}/page{i}", "summary": TEASER}
               for i in range(6)]
    server.feed("/teasers", teasers)
    for i in range(6):
        server.routes[f"/page{i}"] = (200, {"Content-Type": "text/html"},
                                      f"<html><body><article>{ARTICLE_A}</article></body></html>".encode(), 0.6)
    settings = Settings(allow_private_networks=True, host_delay=0, source_deadline=1.5, fetch_timeout=5)
    result = read_source(Source(url=f"{server.base}/teasers", id=1), settings)
    assert result.status == "warning" and "teasers kept without their full text" in result.error
    assert len(result.entries) == 6 and sum(1 for e in result.entries if e.truncated) >= 3
    assert sum(server.hits.get(f"/page{i}", 0) for i in range(6)) < 6


def test_robots_txt_keeps_tidings_from_a_forbidden_page_unless_told_otherwise(tmp_path, server):
    server.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"},
                                    b"User-agent: tidings\nDisallow: /private/\n", 0)
    page = f"<html><head><title>Barrier</title></head><body><article>{ARTICLE_A}</article></body></html>"
    server.routes["/private/story.html"] = (200, {"Content-Type": "text/html"}, page.encode(), 0)
    source = Source(url=f"{server.base}/private/story.html", id=1)
    polite = read_source(source, Settings(allow_private_networks=True, host_delay=0))
    assert polite.status == "error" and "robots.txt" in polite.error and "respect_robots" in polite.error
    rude = read_source(source, Settings(allow_private_networks=True, host_delay=0, respect_robots=False))
    assert rude.status == "ok" and rude.kind == "page"


# --- readers by kind --------------------------------------------------------------------------------------------------

def test_a_source_learns_its_kind_and_a_feed_answering_html_is_an_error(tmp_path, server):
    server.feed("/news", [A])  # an address that does not promise a feed
    config = _config(tmp_path, server, ["/news"])
    run(config, now=NOW, publish=False)
    assert _sources(config)["news"].kind == "feed"
    page = f"<html><head><title>Error</title></head><body><article>{ARTICLE_B}</article></body></html>"
    server.routes["/news"] = (200, {"Content-Type": "text/html"}, page.encode(), 0)
    stats = run(config, now=NOW + timedelta(hours=1), publish=False)
    source = _sources(config)["news"]
    assert stats.items_new == 0 and source.status == "error"
    assert "expected a feed, got an HTML page ('Error')" in source.last_error


def test_the_config_can_name_a_sources_kind_and_a_wrong_one_is_one_line(tmp_path):
    base = {"digests": [{"slug": "news"}], "db": str(tmp_path / "t.db")}
    config = parse_config({**base, "sources": [{"url": "https://x.example/a", "kind": "page"}]})
    assert config.sources[0].kind == "page"
    with pytest.raises(ConfigError, match=r"kind must be one of feed, page, got 'podcast'"):
        parse_config({**base, "sources": [{"url": "https://x.example/a", "kind": "podcast"}]})


# --- tidings run --every ----------------------------------------------------------------------------------------------

def test_run_every_reads_due_sources_and_stops_cleanly_on_sigterm(tmp_path, server):
    server.feed("/good", [A])
    server.routes["/broken"] = (429, {"Retry-After": "3600"}, b"", 0)
    config = _config(tmp_path, server, ["/good", "/broken"])
    env = {**os.environ, "TIDINGS_CHECKWORTHY": "lexical"}
    proc = subprocess.Popen([sys.executable, "-m", "tidings", "-c", str(config.path), "run", "--every", "1s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while server.hits.get("/good", 0) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert server.hits["/good"] >= 3 and server.hits["/broken"] == 1  # it waits as its server asked
    assert "SIGTERM: stopping after the current step" in err and "Traceback" not in err
    assert out.count("new items") >= 3
    with opened(config) as store:
        assert store.counts()["items"] == 1


def test_run_every_needs_a_duration_it_can_read(tmp_path):
    config = make_config(tmp_path, [])
    config.path.write_text('[[digests]]\nslug = "news"\n')
    result = CliRunner().invoke(cli, ["-c", str(config.path), "run", "--every", "soon"])
    assert result.exit_code == 2 and "is not a duration; use a number with a unit, such as 90s" in result.output


# --- feed autodiscovery when a source is added -----------------------------------------------------------------------

def test_adding_a_page_that_links_its_feed_adds_the_feed(tmp_path, server):
    server.feed("/feed.xml", [A])
    home = ('<html><head><title>Wire</title><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
            '</head><body><p>Welcome</p></body></html>')
    server.routes["/"] = (200, {"Content-Type": "text/html; charset=utf-8"}, home.encode(), 0)
    article = f"<html><head><title>Barrier</title></head><body><article>{ARTICLE_A}</article></body></html>"
    server.routes["/story.html"] = (200, {"Content-Type": "text/html"}, article.encode(), 0)
    config = _config(tmp_path, server, [])
    invoke = CliRunner().invoke
    found = invoke(cli, ["-c", str(config.path), "sources", "add", server.base + "/"])
    assert found.exit_code == 0, found.output
    assert f"added the feed it links, {server.base}/feed.xml" in found.output
    single = invoke(cli, ["-c", str(config.path), "sources", "add", server.base + "/story.html"])
    assert "links no feed; it is read as one article" in single.output
    kept = invoke(cli, ["-c", str(config.path), "sources", "add", server.base + "/", "--kind", "page"])
    assert kept.exit_code == 0 and "feed" not in kept.output
    offline = invoke(cli, ["-c", str(config.path), "sources", "add", "http://127.0.0.1:9/feed"])
    assert offline.exit_code == 0 and "could not read it now" in offline.output and "added anyway" in offline.output
    typo = invoke(cli, ["-c", str(config.path), "sources", "add", server.base + "/fead.xml"])
    assert typo.exit_code == 1 and "HTTP 404" in typo.output and "check the address" in typo.output
    kinds = {s.url.removeprefix(server.base): s.kind for s in _sources(config).values()}
    assert kinds == {"/feed.xml": "feed", "/story.html": "page", "/": "page", "http://127.0.0.1:9/feed": ""}
