"""The fetcher against a hostile server on 127.0.0.1: private addresses refused unless allowed, a size cap that
holds after decompression, one deadline for a whole request however slowly the server drips, redirect limits and
loops, and local sources that are regular files only."""

import contextlib
import gzip
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tidings.config import Settings
from tidings.ingest import policy_of, read_source
from tidings.ingest.fetch import FetchError, FetchPolicy, fetch
from tidings.model import Source

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Ok</title><item><title>Fine</title>'
        b"<link>https://ok.example/a</link><description>Fine.</description></item></channel></rss>")
BOMB = gzip.compress(b"\0" * (40 * 2**20))  # about 40 KB that inflate to 40 MB


class Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        path = self.path
        if path == "/bomb":
            self._send(200, BOMB, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})
        elif path == "/big":
            self._send(200, b"x" * (11 * 2**20))
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.3)
        elif path == "/loop":
            self._redirect("/loop2")
        elif path == "/loop2":
            self._redirect("/loop")
        elif path.startswith("/hop"):
            n = int(path[4:] or 0)
            if n >= 10:
                self._send(200, FEED)
            else:
                self._redirect(f"/hop{n + 1}")
        elif path == "/gzip-feed":
            self._send(200, gzip.compress(FEED), {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})
        else:
            self._send(200, FEED, {"Content-Type": "application/rss+xml"})

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            self.wfile.write(body)


@pytest.fixture(scope="module")
def hostile():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


LOOPBACK = FetchPolicy(timeout=5, allow_private=True)


def test_private_addresses_are_refused_unless_allowed(hostile):
    with pytest.raises(FetchError, match="private or local address .*allow_private_networks = true"):
        fetch(f"{hostile}/feed")
    result = read_source(Source(url=f"{hostile}/feed", id=1), Settings())
    assert result.status == "error" and "allow_private_networks" in result.error
    assert fetch(f"{hostile}/feed", policy=LOOPBACK).body == FEED
    ok = read_source(Source(url=f"{hostile}/feed", id=1), Settings(allow_private_networks=True))
    assert ok.status == "ok" and ok.entries[0].title == "Fine"


def test_a_gzip_bomb_is_cut_at_the_cap(hostile):
    with pytest.raises(FetchError, match="larger than 10 MB"):
        fetch(f"{hostile}/bomb", policy=LOOPBACK)
    # Honest compression still works: the body is decompressed here, not by the HTTP library.
    assert fetch(f"{hostile}/gzip-feed", policy=LOOPBACK).body == FEED


def test_the_size_cap_holds_and_can_be_set(hostile):
    with pytest.raises(FetchError, match="larger than 10 MB"):
        fetch(f"{hostile}/big", policy=LOOPBACK)
    settings = Settings(allow_private_networks=True, max_body_mb=20)
    assert len(fetch(f"{hostile}/big", policy=policy_of(settings)).body) == 11 * 2**20


def test_a_dripping_server_meets_one_deadline_for_the_whole_request(hostile):
    with pytest.raises(FetchError, match="took longer than 2s in all|no answer within 2s"):
        fetch(f"{hostile}/drip", policy=FetchPolicy(timeout=2, allow_private=True))


def test_redirect_loops_and_chains_are_cut(hostile):
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(f"{hostile}/loop", policy=LOOPBACK)
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(f"{hostile}/hop0", policy=LOOPBACK)
    assert fetch(f"{hostile}/hop3", policy=FetchPolicy(timeout=5, allow_private=True, max_redirects=10)).url \
        .endswith("/hop10")


def test_only_regular_files_are_read_as_local_sources(tmp_path):
    with pytest.raises(FetchError, match="not a regular file"):
        fetch("/dev/zero", allow_local=True)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FetchError, match="not a regular file"):
        fetch(str(fifo), allow_local=True)  # would block forever if opened
    with pytest.raises(FetchError, match="is a folder"):
        fetch(str(tmp_path), allow_local=True)
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * (2 * 2**20))
    with pytest.raises(FetchError, match="larger than 1 MB"):
        fetch(str(big), allow_local=True, policy=FetchPolicy(max_bytes=2**20))
