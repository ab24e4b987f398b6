"""Politeness towards the hosts tidings reads: a few connections to one host at a time, and a pause between the
start of one request to it and the next. Many sources on one host (a publisher's section feeds, a paper listing
per subject) would otherwise arrive all at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


class HostGate:
    """Shared by the threads of one run: `with gate.slot(url):` around each request."""

    def __init__(self, connections: int = 2, delay: float = 1.0) -> None:
        self.connections = max(1, connections)
        self.delay = max(0.0, delay)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, url: str, deadline: float | None = None) -> Iterator[None]:
        """Wait for a free connection to the URL's host and for its pause to pass, then hold the connection.
        Raise TimeoutError if that wait would pass `deadline` (a `time.monotonic()` value)."""
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            slots = self._slots.setdefault(host, threading.BoundedSemaphore(self.connections))
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0)
        if not slots.acquire(timeout=timeout):
            raise TimeoutError(host)
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start.get(host, now))
                # Book the start time before sleeping, so the next thread queues behind this one.
                self._next_start[host] = start + self.delay
            if deadline is not None and start > deadline:
                raise TimeoutError(host)
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            slots.release()
