"""A hostile HTTP server on 127.0.0.1 for tests/test_fault_injection.py, whose routes the test switches between
behaviours (a faulty one, a healthy one, ...) from one run to the next, and which records every request it gets.

Each route is a path with named behaviours; `server.modes[path]` picks the one it answers with. A behaviour is a
function of the request handler. Handler threads are daemons, and a stalled handler waits on `release`, so a
60-second stall never holds up the test's teardown.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import ARTICLE_A, ARTICLE_A2, ARTICLE_B, rss

Behaviour = Callable[["FaultHandler"], None]

STALL_SECONDS = 60
BIG_BODY = 50 * 2**20  # streamed, never held in memory
RETRY_AFTER = 7200  # seconds a 429 asks for: longer than the first backoff (at most 1.2 h), so it is what counts
ETAG = '"feed-v1"'
LAST_MODIFIED = "Fri, 13 Mar 2026 09:00:00 GMT"
NOT_A_FEED = b"this body is not a feed: reading it would make the source fail"

_WORDS = sorted({w.strip(".,'").lower() for w in
                 (ARTICLE_A + ARTICLE_A2 + ARTICLE_B).replace("<p>", " ").replace("</p>", " ").split()} - {""})


def story_text(name: str) -> str:
    """Two paragraphs of words of its own for each route, so that no two routes' items are near-duplicates."""
    rng = random.Random(name)
    words = [rng.choice(_WORDS) for _ in range(90)]
    return (f"<p>Report from the {name} desk: {' '.join(words[:45])}.</p>"
            f"<p>The {name} desk adds: {' '.join(words[45:])}.</p>")


def story_title(name: str) -> str:
    return f"Dispatch from the {name} desk"


def healthy_feed(name: str) -> bytes:
    return rss([{"title": story_title(name), "link": f"https://{name}.example/story", "guid": f"{name}-1",
                 "text": story_text(name)}], title=f"{name} wire").encode("utf-8")


def gzip_bomb(inflated: int = 20 * 2**20) -> bytes:
    """About 20 KB of gzip that inflate to 20 MB of zeros, made a megabyte at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * 2**20
    return b"".join([*(packer.compress(chunk) for _ in range(inflated // len(chunk))), packer.flush()])


BOMB = gzip_bomb()
LAUGHS = ('<!DOCTYPE rss [<!ENTITY lol0 "lol">'
          + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)) + "]>")
XXE = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def entity_feed(name: str, doctype: str, ref: str) -> bytes:
    """A feed whose DOCTYPE declares entities and whose item uses one in its title and its text."""
    body = rss([{"title": f"{story_title(name)} {ref}", "link": f"https://{name}.example/story",
                 "guid": f"{name}-1", "summary": f"{ref} {story_text(name)}"}], title=f"{name} wire")
    return body.replace("<rss", doctype + "\n<rss", 1).encode("utf-8")


ZURICH_TITLE = "Zürich opens its lake barrier"


def zurich_feed() -> bytes:
    """UTF-8 bytes with no encoding in the XML declaration, so only the HTTP header speaks for the charset."""
    body = rss([{"title": ZURICH_TITLE, "link": "https://zurich.example/story", "guid": "zurich-1",
                 "text": story_text("zurich") + "<p>The barrier in Zürich cost 80 million francs.</p>"}],
               title="Zürich wire")
    return body.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?>', 1).encode("utf-8")


HTML_PAGE = (b"<!doctype html><html><head><title>Welcome to the portal</title></head><body><h1>Welcome</h1>"
             b"<p>Our feed has moved. Please log in to continue.</p></body></html>")


@dataclass
class Seen:
    """One request as the server saw it, and the status it answered (None: it answered nothing)."""

    path: str
    headers: dict[str, str]
    status: int | None = None


@dataclass
class FaultServer:
    routes: dict[str, dict[str, Behaviour]] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, initial: str, **behaviours: Behaviour) -> str:
        self.routes[path] = behaviours
        self.modes[path] = initial
        return self.url(path)

    def seen(self, path: str | None = None, since: int = 0) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests[since:] if path is None or r.path == path]

    def mark(self) -> int:
        """A point in the request log: `seen(since=mark)` gives what came after it."""
        with self.lock:
            return len(self.requests)


class FaultHandler(BaseHTTPRequestHandler):
    server: _HTTPServer  # type: ignore[assignment]
    seen: Seen

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        faults = self.server.faults
        self.seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()})
        with faults.lock:
            faults.requests.append(self.seen)
        behaviours = faults.routes.get(self.path)
        if behaviours is None:
            self.send(404, b"no such route")
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            behaviours[faults.modes[self.path]](self)

    def send_response(self, code: int, message: str | None = None) -> None:
        self.seen.status = code
        super().send_response(code, message)

    # --- behaviours' building blocks ---------------------------------------------------------------------------

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": "application/rss+xml", **(headers or {})}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stall(self) -> None:
        self.server.faults.release.wait(STALL_SECONDS)

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER of zero), not a polite FIN."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # after a reset there is nothing left to flush
            super().finish()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a stalled handler never blocks shutdown
    faults: FaultServer

    def handle_error(self, request, client_address) -> None:  # a client hanging up is part of the tests
        pass


def start() -> tuple[FaultServer, _HTTPServer]:
    faults = FaultServer()
    httpd = _HTTPServer(("127.0.0.1", 0), FaultHandler)
    httpd.faults = faults
    faults.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return faults, httpd


def stop(faults: FaultServer, httpd: _HTTPServer) -> None:
    faults.release.set()  # stalled handlers return at once
    httpd.shutdown()
    httpd.server_close()


# --- behaviours, by name -----------------------------------------------------------------------------------------

def serve(body: bytes, status: int = 200, **headers: str) -> Behaviour:
    return lambda h: h.send(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


def feed_of(name: str) -> Behaviour:
    return serve(healthy_feed(name))


def stall_before_headers(h: FaultHandler) -> None:
    h.stall()


def _half_then(name: str, fault: str) -> Behaviour:
    """Promise the whole feed, send half of it, then stall or reset."""
    def behaviour(h: FaultHandler) -> None:
        body = healthy_feed(name)
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[: len(body) // 2])
        h.wfile.flush()
        getattr(h, fault)()
    return behaviour


def stall_mid_body(name: str) -> Behaviour:
    return _half_then(name, "stall")


def reset_at_once(h: FaultHandler) -> None:
    h.reset()


def reset_mid_body(name: str) -> Behaviour:
    return _half_then(name, "reset")


def redirect_to(path: str) -> Behaviour:
    def behaviour(h: FaultHandler) -> None:
        h.send_response(302)
        h.send_header("Location", path)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return behaviour


def big_body(h: FaultHandler) -> None:
    """A 50 MB "feed", streamed a chunk at a time: a well-formed start, then padding without end."""
    head = b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Big</title><description>'
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", str(BIG_BODY))
    h.end_headers()
    h.wfile.write(head)
    chunk = b"x" * 2**16
    left = BIG_BODY - len(head)
    while left > 0:
        h.wfile.write(chunk[:left])
        left -= len(chunk)


def conditional(name: str) -> Behaviour:
    """304 to a request that carries the validators given before; to any other, a body that is not a feed."""
    def behaviour(h: FaultHandler) -> None:
        if h.headers.get("If-None-Match") == ETAG and h.headers.get("If-Modified-Since") == LAST_MODIFIED:
            h.send_response(304)
            h.send_header("ETag", ETAG)
            h.end_headers()
        else:
            h.send(200, NOT_A_FEED, {"Content-Type": "text/plain"})
    return behaviour
