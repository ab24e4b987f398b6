"""Sources polled per second: tidings' fetch stage against a local server of 1,000 feeds, beside the same server's
raw request rate measured in the same run.

The server runs in its own process (so it never shares the client's GIL): a ThreadingHTTPServer (HTTP/1.1,
keep-alive) serving distinct small RSS feeds (5 new items each, ~3 kB), each with an ETag and a Last-Modified, and
answering 304 to a matching If-None-Match / If-Modified-Since. The feeds are spread over loopback addresses
(127.0.0.2, 127.0.0.3, ..., 10 feeds each by default), one listening socket per address and nothing bound beyond
loopback, so tidings' per-host politeness meets many hosts, as it would in the wild; where those addresses cannot
be bound (not Linux), every feed is on 127.0.0.1 and the output says so. Sources are listed host by host in
turn (feed i on host i mod hosts); `--order grouped` lists each host's feeds together, `--order shuffled` at random.
The fetch stage hands sources to its threads with hosts taking turns whatever the listed order, so a thread
waiting for one host's politeness delay does not keep other hosts waiting; the orders should measure alike.

Two rounds: the first run, where every feed is new, then a second run where 95% of the feeds answer 304 and 5%
have one new item under a new ETag. In each round:

  raw httpx     plain GETs from a shared httpx.Client on FETCH_WORKERS threads (as many as tidings' fetch stage),
                no politeness, the body read and nothing else; the second round sends the ETag and Last-Modified of
                the first. Best of five passes (on a busy machine passes vary by
                20% or so): the server's ceiling, against which the ratios are taken.
  reading only  tidings' `read_source` with the fetch stage's Session on FETCH_WORKERS threads, politeness off,
                storing nothing: fetching and parsing alone (the store's ETags are read before the clock starts).
  tidings off   `fetch_stage` with politeness off (host_delay 0, host_connections 64): fetching, parsing and
                storing items in SQLite (timed: the fetch stage only, as `run` would call it after sync_config).
  tidings       `fetch_stage` with the default politeness (host_connections 2, host_delay 1 s): its lower bound is
                (feeds per host - 1) x host_delay, printed beside it.

Read "x of raw" as the fraction of the server's raw request rate tidings reaches. The bench checks what it
measured (5 items stored per feed on the first run; on the second, the changed feeds read and the others
unchanged) and exits non-zero if a count is wrong.

    python bench/fetch.py [--feeds 1000] [--hosts 100] [--order interleaved|grouped|shuffled]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import selectors
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tidings.pipeline import FETCH_WORKERS, Reporter, chosen_sources, fetch_stage, sync_config  # noqa: E402

ITEMS = 5  # per feed
CHANGED_EVERY = 20  # on the second run, one feed in this many has a new item (5%)
FIRST = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)  # the feeds' Last-Modified before the change
WORDS = [a + b + c for a in ("ka", "lo", "mi", "nu", "pe", "ro", "sa", "ti", "vo", "ze")
         for b in ("ba", "de", "fi", "go", "hu", "ja", "ke", "li", "mo", "ny")
         for c in ("r", "n", "s", "t", "l", "m", "d", "k")]  # 800 made-up words: no two items alike


# -- the server ---------------------------------------------------------------------------------------------------

def feed_body(n: int, version: int) -> bytes:
    """Feed n's RSS: ITEMS distinct items, plus one more per version (the newest first)."""
    rng = random.Random(n)
    items = []
    for i in range(ITEMS + version):
        words = rng.choices(WORDS, k=70)
        when = format_datetime(FIRST - timedelta(hours=ITEMS - i))
        items.append(f"<item><title>{' '.join(words[:8]).capitalize()}</title>"
                     f"<link>https://feed{n}.example/story/{i}</link><guid>feed{n}-{i}</guid>"
                     f"<pubDate>{when}</pubDate><description>{' '.join(words[8:])}.</description></item>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>Feed {n}</title><link>https://feed{n}.example/</link><description>bench</description>"
            + "".join(reversed(items)) + "</channel></rss>").encode()


def feed_state(n: int, version: int) -> tuple[bytes, str, str]:
    """(body, ETag, Last-Modified) of feed n at a version."""
    return feed_body(n, version), f'"feed{n}-v{version}"', format_datetime(FIRST + timedelta(hours=version),
                                                                            usegmt=True)


class FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        if not (self.path.startswith("/feed/") and name.endswith(".xml") and name[:-4].isdigit()):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        n = int(name[:-4])
        changed = self.server.changed.value and n % CHANGED_EVERY == 0
        body, etag, modified = self.server.feeds[n][1 if changed else 0]
        if _not_modified(self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"), etag, modified):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", modified)
        self.end_headers()
        self.wfile.write(body)


def _not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str, modified: str) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since."""
    if if_none_match is not None:
        return etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*"
    if if_modified_since is not None:
        try:
            return parsedate_to_datetime(modified) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


def serve(addresses: list[str], feeds: int, changed, ports) -> None:
    """The server process: one listening socket per address, all handled by one selector loop."""
    states = [(feed_state(n, 0), feed_state(n, 1) if n % CHANGED_EVERY == 0 else None) for n in range(feeds)]
    servers = []
    selector = selectors.DefaultSelector()
    for address in addresses:
        server = ThreadingHTTPServer((address, 0), FeedHandler)
        server.daemon_threads = True
        server.feeds, server.changed = states, changed
        selector.register(server, selectors.EVENT_READ)
        servers.append(server)
    ports.send([s.server_address[1] for s in servers])
    while True:
        for key, _ in selector.select():
            key.fileobj._handle_request_noblock()


def loopback_hosts(wanted: int) -> list[str]:
    """127.0.0.2, 127.0.0.3, ...: wanted addresses if this system routes all of 127/8 to itself, else 127.0.0.1."""
    hosts = [f"127.0.{(i + 2) // 256}.{(i + 2) % 256}" for i in range(wanted)]
    try:
        with socket.socket() as probe:
            probe.bind((hosts[-1], 0))
    except OSError:
        return ["127.0.0.1"]
    return hosts


def start_server(hosts: list[str], feeds: int):
    """(process, changed flag, URL of each feed); feed n is on host n mod len(hosts)."""
    context = multiprocessing.get_context("spawn")
    changed = context.Value("b", 0, lock=False)
    here, there = context.Pipe()
    process = context.Process(target=serve, args=(hosts, feeds, changed, there), daemon=True)
    process.start()
    if not here.poll(60):
        process.terminate()
        raise SystemExit("the feed server did not start")
    ports = here.recv()
    urls = [f"http://{hosts[n % len(hosts)]}:{ports[n % len(hosts)]}/feed/{n}.xml" for n in range(feeds)]
    return process, changed, urls


# -- the raw client -----------------------------------------------------------------------------------------------

def raw_pass(urls: list[str], caches: dict[str, tuple[str, str]] | None = None):
    """(seconds, status counts, (ETag, Last-Modified) per URL) of plain GETs on FETCH_WORKERS threads."""
    import httpx

    def get(url: str) -> tuple[int, str | None, str | None]:
        headers = {}
        if caches:
            headers = {"If-None-Match": caches[url][0], "If-Modified-Since": caches[url][1]}
        resp = client.get(url, headers=headers)
        resp.read()
        return resp.status_code, resp.headers.get("etag"), resp.headers.get("last-modified")

    with httpx.Client(timeout=10) as client, ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
        start = time.perf_counter()
        results = list(pool.map(get, urls))
        seconds = time.perf_counter() - start
    return seconds, Counter(r[0] for r in results), {u: (r[1], r[2]) for u, r in zip(urls, results, strict=True)}


def best_raw(urls: list[str], caches=None, tries: int = 5):
    passes = [raw_pass(urls, caches) for _ in range(tries)]
    return min(passes, key=lambda p: p[0])


# -- tidings ------------------------------------------------------------------------------------------------------

POLITE = {}  # the defaults: host_connections 2, host_delay 1.0
OFF = {"host_delay": 0.0, "host_connections": 64}


def make_config(work: Path, name: str, urls: list[str], politeness: dict):
    from tidings.config import parse_config

    settings = {"allow_private_networks": True, "fetch_full_text": False, **politeness}
    data = {"db": str(work / f"{name}.db"), "site_dir": str(work / f"{name}-site"),
            "digests": [{"slug": "news", "title": "News", "description": "Bench news"}],
            "sources": [{"url": u, "digests": ["news"]} for u in urls], "settings": settings}
    return parse_config(data, work / f"{name}.toml")


def tidings_pass(config, store, now: datetime) -> tuple[float, dict[str, int]]:
    """Seconds and counts of one fetch stage, as `run` calls it (sync_config and choosing sources not timed)."""
    sync_config(config, store, now)
    sources = chosen_sources(store, None, now)
    start = time.perf_counter()
    counts, _ = fetch_stage(config, store, sources, now, Reporter())
    return time.perf_counter() - start, counts


def reading_pass(config, store) -> tuple[float, Counter]:
    """Seconds to fetch and parse every source as the fetch stage does (its Session, FETCH_WORKERS threads, the
    store's ETags), storing nothing; and how many came back unchanged or with an error."""
    from tidings.ingest import Session, read_source

    sources = chosen_sources(store, None)
    caches = {s.id: store.source_cache(s.id) for s in sources}
    with Session.open(config.settings) as session, ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
        start = time.perf_counter()
        results = list(pool.map(lambda s: read_source(s, config.settings, caches[s.id], session=session), sources))
        seconds = time.perf_counter() - start
    return seconds, Counter("unchanged" if r.unchanged else r.status for r in results)


def ordered(urls: list[str], hosts: int, order: str) -> list[str]:
    """The sources as the config lists them: host by host in turn (as generated), grouped by host, or shuffled."""
    if order == "grouped":
        return [u for _, u in sorted(enumerate(urls), key=lambda pair: (pair[0] % hosts, pair[0]))]
    if order == "shuffled":
        return random.Random(0).sample(urls, len(urls))
    return list(urls)


# -- checks and output --------------------------------------------------------------------------------------------

def check(label: str, got: dict, want: dict, problems: list[str]) -> None:
    """Note in `problems` any count that is not what the server's feeds call for."""
    wrong = {k: (got.get(k, 0), v) for k, v in want.items() if got.get(k, 0) != v}
    if wrong:
        problems.append(f"{label}: " + ", ".join(f"{k} {g} (expected {w})" for k, (g, w) in wrong.items()))


def line(label: str, seconds: float, n: int, raw_rate: float | None, note: str) -> str:
    rate = n / seconds
    versus = f"  {rate / raw_rate:5.2f} of raw" if raw_rate else " " * 14
    return f"  {label:<36} {seconds:6.2f} s  {rate:7,.0f} sources/s{versus}  {note}"


def counted(counts: dict[str, int]) -> str:
    return (f"{counts['ok']} read, {counts['unchanged']} unchanged, {counts['failed']} failed, "
            f"{counts['deferred']} deferred; {counts['new']} new items")


def statuses_of(statuses: Counter) -> str:
    return ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))


def one_round(title: str, urls: list[str], raw_caches, raw_want: dict, want: dict, configs: dict, stores: dict,
              now: datetime, bound: float, problems: list[str]):
    """One round: the raw rate, tidings reading only, then the fetch stage without and with politeness."""
    print(f"\n{title}")
    raw_s, statuses, caches = best_raw(urls, raw_caches)
    check(f"{title}: raw", statuses, raw_want, problems)
    raw_rate = len(urls) / raw_s
    kind = "conditional GETs" if raw_caches else "GETs"
    print(line("raw httpx (best of 5)", raw_s, len(urls), None, f"{kind}, no politeness: {statuses_of(statuses)}"))
    read_s, results = reading_pass(configs["off"], stores["off"])
    read_want = {"unchanged": want["unchanged"], "error": 0}
    check(f"{title}: tidings reading only", results, read_want, problems)
    print(line("tidings reading only, nothing stored", read_s, len(urls), raw_rate,
               f"read_source on {FETCH_WORKERS} threads, politeness off: {results['unchanged']} unchanged"))
    for name, label in (("off", "tidings, politeness off"), ("polite", "tidings, polite")):
        seconds, counts = tidings_pass(configs[name], stores[name], now)
        check(f"{title}: tidings {name}", counts, want, problems)
        note = f"bound >= {bound:.1f} s; " if name == "polite" else ""
        print(line(label, seconds, len(urls), raw_rate, note + counted(counts)))
    return caches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses the feeds are spread over")
    parser.add_argument("--order", choices=("interleaved", "grouped", "shuffled"), default="interleaved")
    args = parser.parse_args()

    from tidings.config import Settings
    from tidings.store import Store

    hosts = loopback_hosts(min(args.hosts, args.feeds))
    process, changed, urls = start_server(hosts, args.feeds)
    urls = ordered(urls, len(hosts), args.order)
    n, n_changed = args.feeds, len(range(0, args.feeds, CHANGED_EVERY))
    per_host = -(-n // len(hosts))
    defaults = Settings()
    bound = (per_host - 1) * defaults.host_delay
    problems: list[str] = []
    now = datetime.now(UTC)
    work = Path(tempfile.mkdtemp(prefix="tidings-bench-fetch-"))
    stores = {}
    try:
        where = f"{len(hosts)} loopback hosts ({hosts[0]}..{hosts[-1]}), {'' if n % len(hosts) == 0 else 'up to '}" \
            f"{per_host} feeds each" if len(hosts) > 1 \
            else "ONE host, 127.0.0.1 (this system does not route 127.0.0.2 and up to itself)"
        print(f"server : {n:,} RSS feeds ({ITEMS} items each, ~{len(feed_body(0, 0)) / 1024:.1f} kB) on {where}; "
              "ThreadingHTTPServer, HTTP/1.1, in its own process")
        print(f"client : {FETCH_WORKERS} threads (tidings.pipeline.FETCH_WORKERS), sources listed in {args.order} "
              f"order, fetch_full_text false, fetch_timeout {defaults.fetch_timeout:g} s, source_deadline "
              f"{defaults.source_deadline:g} s, run_deadline {defaults.run_deadline:g} s, SQLite in {work}")
        print(f"polite : host_connections {defaults.host_connections}, host_delay {defaults.host_delay:g} s (the "
              f"defaults): bound ({per_host} feeds per host - 1) x {defaults.host_delay:g} s = {bound:.1f} s; "
              f"off: host_connections {OFF['host_connections']}, host_delay {OFF['host_delay']:g} s")
        configs = {name: make_config(work, name, urls, p) for name, p in (("off", OFF), ("polite", POLITE))}
        stores = {name: Store(str(work / f"{name}.db")) for name in configs}
        for name in configs:
            sync_config(configs[name], stores[name], now)
        caches = one_round(f"first run: every feed new ({n * ITEMS:,} items)", urls, None, {200: n},
                           {"ok": n, "new": n * ITEMS, "failed": 0, "unchanged": 0, "deferred": 0},
                           configs, stores, now, bound, problems)
        changed.value = 1
        one_round(f"second run: {n - n_changed:,} feeds answer 304, {n_changed} have one new item", urls, caches,
                  {304: n - n_changed, 200: n_changed},
                  {"ok": n_changed, "new": n_changed, "failed": 0, "unchanged": n - n_changed, "deferred": 0},
                  configs, stores, now + timedelta(hours=1), bound, problems)
    finally:
        for store in stores.values():
            store.close()
        process.terminate()
        process.join()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nrerun: .venv/bin/python bench/fetch.py --feeds {n} --hosts {args.hosts} --order {args.order}")
    if problems:
        print("\nWRONG COUNTS:\n  " + "\n  ".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
