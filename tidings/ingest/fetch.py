"""Reading bytes from a URL or a local file, with one-line errors that name what failed."""

from __future__ import annotations

import ipaddress
import re
import socket
import stat
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit

from tidings.errors import TidingsError
from tidings.ingest.politeness import HostGate

MAX_BYTES = 10 * 1024 * 1024  # a feed or page larger than this (decompressed) is not a feed or a page
MAX_REDIRECTS = 5

if TYPE_CHECKING:
    import httpx  # imported where a request is made: a run of local files never needs it


@dataclass(frozen=True)
class FetchPolicy:
    """How far tidings trusts a server: how long a request may take in all, how much it may send (counted after
    decompression), how many redirects it may ask for, and whether private addresses may be reached."""

    timeout: float = 10.0  # seconds for the whole request, from connecting to the last byte
    max_bytes: int = MAX_BYTES
    allow_private: bool = False
    max_redirects: int = MAX_REDIRECTS


class FetchError(TidingsError):
    """Reading failed; the message is one line naming the URL or path. When the server answered, `status` is its
    HTTP status, and `retry_after` the seconds it asked us to wait (429 and 503)."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RefusedAddress(FetchError):
    """An address the settings forbid reading (a private or local one): trying again later changes nothing."""


@dataclass(frozen=True)
class Response:
    url: str  # where the bytes came from, after redirects (a file:// URL for local files)
    body: bytes
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


# A URL scheme is two or more characters before a colon; a single letter is a Windows drive letter.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def is_local(location: str) -> bool:
    """Whether a location names a local file: a file:// URL or a path (anything without a URL scheme)."""
    return location.lower().startswith("file://") or not _SCHEME.match(location)


def local_path(location: str) -> Path:
    if location.lower().startswith("file://"):
        return Path(unquote(urlsplit(location).path))
    return Path(location)


def fetch(location: str, timeout: float = 10.0, user_agent: str = "tidings", etag: str | None = None,
          last_modified: str | None = None, client: httpx.Client | None = None, *,
          allow_local: bool = False, policy: FetchPolicy | None = None, gate: HostGate | None = None,
          deadline: float | None = None) -> Response:
    """Read `location`: an http(s) URL, or, with `allow_local`, a path or a file:// URL.

    Only a location the user named (a configured source, a file given on the command line) may be local; a link
    found in a feed or a page is fetched without `allow_local`, so it can never make tidings read a local file.
    The request ends by `policy.timeout` from its start, or by `deadline` (a `time.monotonic()` value: the
    source's own deadline) if that comes first; `gate` keeps it polite to the host. Raise FetchError with a
    one-line reason.
    """
    policy = policy or FetchPolicy(timeout=timeout)
    if is_local(location):
        if not allow_local:
            raise FetchError(f"{location}: refusing to read a local file here "
                             "(only a source you name may be a local file)")
        return _read_file(local_path(location), policy)
    scheme = urlsplit(location).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"{location}: unsupported URL scheme {scheme!r} (use http, https or a file path)")
    headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate",
               "Accept": "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
                         "text/html;q=0.8, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    import httpx

    own = client is None
    client = client or httpx.Client(timeout=policy.timeout)
    clock = _Clock(policy.timeout, deadline)
    url, seen = location, {location}
    try:
        for _ in range(policy.max_redirects + 1):
            _check_address(url, policy)
            with _slot(gate, url, deadline, location):
                # The request's own time starts once the host gives it a turn: waiting politely is not the
                # server's slowness. The source's deadline bounds both.
                clock.start()
                resp = _get(client, url, headers, location, policy, clock.ends, clock.late)
            if isinstance(resp, Response):
                return resp
            if resp in seen:
                raise FetchError(f"{location}: redirect loop at {resp}")
            seen.add(resp)
            url = resp
        raise FetchError(f"{location}: more than {policy.max_redirects} redirects")
    except httpx.TimeoutException:
        raise FetchError(f"{location}: {clock.late}") from None
    except httpx.ConnectError as exc:
        raise FetchError(f"{location}: cannot connect: {_reason(exc)}") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{location}: {type(exc).__name__}: {_reason(exc)}") from None
    finally:
        if own:
            client.close()


class _Clock:
    """When a request must end: `timeout` after it first got its turn, or the source's deadline if sooner."""

    def __init__(self, timeout: float, deadline: float | None) -> None:
        self.timeout, self.deadline = timeout, deadline
        self.ends = deadline if deadline is not None else float("inf")
        self.late = f"took longer than {timeout:g}s in all; gave up"
        self.started = False

    def start(self) -> None:
        if self.started:
            return  # a redirect continues the same request
        self.started = True
        own = time.monotonic() + self.timeout
        if self.deadline is None or own <= self.deadline:
            self.ends = own
        else:
            self.late = "the source's deadline passed before it finished; gave up"


@contextmanager
def _slot(gate: HostGate | None, url: str, deadline: float | None, location: str) -> Iterator[None]:
    if gate is None:
        yield
        return
    try:
        with gate.slot(url, deadline):
            yield
    except TimeoutError:
        raise FetchError(f"{location}: the source's deadline passed while waiting for a turn at its host") from None


def _get(client: httpx.Client, url: str, headers: dict[str, str], location: str, policy: FetchPolicy,
         ends: float, late: str) -> Response | str:
    """One request: the response, or the address it redirects to."""
    import httpx

    remaining = ends - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"{location}: {late}")
    with client.stream("GET", url, headers=headers, follow_redirects=False,
                       timeout=httpx.Timeout(remaining)) as resp:
        if resp.is_redirect and "location" in resp.headers:
            target = urljoin(url, resp.headers["location"])
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                raise FetchError(f"{location}: redirected to a non-web address {target[:80]!r}")
            return target
        if resp.status_code == 304:
            return Response(url=url, body=b"", not_modified=True, etag=headers.get("If-None-Match"),
                            last_modified=headers.get("If-Modified-Since"))
        if resp.status_code >= 400:
            wait = retry_after(resp.headers.get("retry-after")) if resp.status_code in (429, 503) else None
            asked = f" (asked to wait {wait:g}s)" if wait is not None else ""
            raise FetchError(f"{location}: HTTP {resp.status_code} {resp.reason_phrase}".rstrip() + asked,
                             status=resp.status_code, retry_after=wait)
        body = _read_capped(resp, location, policy, ends, late)
        return Response(url=url, body=body, content_type=resp.headers.get("content-type", ""),
                        etag=resp.headers.get("etag"), last_modified=resp.headers.get("last-modified"))


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 10**7))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _read_file(path: Path, policy: FetchPolicy) -> Response:
    """A local file the user named: only a regular file (not a device, a pipe or a folder), under the size cap."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise FetchError(f"{path}: is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise FetchError(f"{path}: not a regular file (a device or a pipe is never read)")
        if info.st_size > policy.max_bytes:
            raise FetchError(f"{path}: larger than {policy.max_bytes / 2**20:g} MB")
        with path.open("rb") as handle:
            body = handle.read(policy.max_bytes + 1)
    except FileNotFoundError:
        raise FetchError(f"{path}: no such file") from None
    except OSError as exc:
        raise FetchError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(body) > policy.max_bytes:
        raise FetchError(f"{path}: larger than {policy.max_bytes / 2**20:g} MB")
    return Response(url=path.resolve().as_uri(), body=body,
                    content_type="text/html" if path.suffix.lower() in (".html", ".htm") else "")


def _read_capped(resp: httpx.Response, location: str, policy: FetchPolicy, ends: float, late: str) -> bytes:
    """The body, decompressed here rather than by httpx, so the size cap holds after decompression too (a few
    kilobytes of gzip can inflate to gigabytes), and the whole read stops at the deadline however slowly the
    server drips."""
    encoding = resp.headers.get("content-encoding", "").lower().strip()
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding in ("gzip", "x-gzip") else \
        zlib.decompressobj() if encoding == "deflate" else None
    out, size = [], 0
    too_big = FetchError(f"{location}: larger than {policy.max_bytes / 2**20:g} MB")
    try:
        # Whatever each network read gives, not fixed-size chunks: a server dripping a byte at a time is then seen
        # at every byte, and the deadline holds.
        for raw in resp.iter_raw():
            if time.monotonic() > ends:
                raise FetchError(f"{location}: {late}")
            pieces = [raw]
            if inflate is not None:
                pieces = [inflate.decompress(raw, policy.max_bytes + 1 - size)]
                if inflate.unconsumed_tail:
                    raise too_big
            for piece in pieces:
                size += len(piece)
                if size > policy.max_bytes:
                    raise too_big
                out.append(piece)
    except zlib.error as exc:
        raise FetchError(f"{location}: body is not valid {encoding}: {exc}") from None
    return b"".join(out)


def _check_address(url: str, policy: FetchPolicy) -> None:
    """Refuse private, loopback, link-local, multicast and reserved addresses (after DNS), unless allowed: a feed
    must not make tidings probe the network it runs in."""
    if policy.allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"{url}: cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or \
                ip.is_unspecified:
            raise RefusedAddress(f"{url}: {host} is a private or local address ({ip}); set [settings] "
                             "allow_private_networks = true to read it")


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
