"""robots.txt for page fetches: read once per site, answered for tidings' product token.

Feeds are meant to be read by programs and are not checked; a page (a page source, or the article behind a feed's
teaser) is read only where the site's robots.txt allows it. A robots.txt that cannot be had allows everything, as
is the common convention: a missing one (4xx) for as long as the cache lives, a failing one (5xx, 429, a network
error) only until it is asked for again after a while.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

MAX_BYTES = 512 * 1024  # what a crawler must read of a robots.txt (RFC 9309 asks for at least 500 KiB)
TTL = 24 * 3600.0  # RFC 9309: a robots.txt should not be trusted for longer than a day
RETRY = 300.0  # seconds before a robots.txt that failed to come is asked for again


@dataclass
class _Answer:
    parser: RobotFileParser | None  # None: everything allowed
    expires: float


class RobotsCache:
    """Whether a URL may be read, by its site's robots.txt, fetched once per origin and shared between threads.

    `fetch_text(robots_url)` returns (HTTP status, body) and may raise anything; `user_agent` is the full
    User-Agent header, whose product token (before the first "/") is what robots.txt groups are matched on.
    """

    def __init__(self, fetch_text: Callable[[str], tuple[int, bytes]], user_agent: str, *, ttl: float = TTL,
                 retry: float = RETRY, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch_text = fetch_text
        self.agent = product_token(user_agent)
        self._ttl, self._retry, self._clock = ttl, retry, clock
        self._answers: dict[str, _Answer] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()  # held only to look up or create an origin's lock, never while fetching

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets `user_agent` read `url`. Anything but an http(s) URL is not robots' business."""
        origin = _origin(url)
        if origin is None:
            return True
        parser = self._answer(origin).parser
        try:
            return parser is None or parser.can_fetch(self.agent, url)
        except ValueError:  # robotparser unquotes the URL first, and "%5B" in a host then fails to parse again
            return True

    def _answer(self, origin: str) -> _Answer:
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        # One lock per origin: threads asking about one site wait for a single fetch of its robots.txt, while
        # threads asking about other sites go on.
        with lock:
            answer = self._answers.get(origin)
            if answer is None or answer.expires <= self._clock():
                answer = self._fetch(origin)
                self._answers[origin] = answer
            return answer

    def _fetch(self, origin: str) -> _Answer:
        now = self._clock()
        try:
            status, body = self._fetch_text(origin + "/robots.txt")
        except Exception:  # whatever went wrong, an unreadable robots.txt allows everything
            return _Answer(None, now + self._retry)
        if 200 <= status < 300:
            return _Answer(parse(body), now + self._ttl)
        if 400 <= status < 500 and status != 429:
            return _Answer(None, now + self._ttl)  # no robots.txt: the site sets no rules
        return _Answer(None, now + self._retry)  # overloaded or failing: ask again later


def parse(body: bytes) -> RobotFileParser:
    """A parser for a robots.txt body (UTF-8, read up to MAX_BYTES; what does not decode is replaced)."""
    text = body[:MAX_BYTES].decode("utf-8", errors="replace").removeprefix("\ufeff")
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return parser


def product_token(user_agent: str) -> str:
    """'tidings' from 'tidings/0.1 (+https://example.org)': the name robots.txt groups are matched against."""
    token = user_agent.strip().split("/", 1)[0].split()
    return token[0] if token else "*"


def _origin(url: str) -> str | None:
    """scheme://host[:port] of an http(s) URL, lower-cased and without a default port or user info."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, a bad IPv6 address
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    default = 80 if scheme == "http" else 443
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")
