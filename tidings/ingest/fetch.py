"""Reading bytes from a URL or a local file, with one-line errors that name what failed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from tidings.errors import TidingsError

MAX_BYTES = 20 * 1024 * 1024  # a feed or page larger than this is not a feed or a page


class FetchError(TidingsError):
    """Reading failed; the message is one line naming the URL or path."""


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
          allow_local: bool = False) -> Response:
    """Read `location`: an http(s) URL, or, with `allow_local`, a path or a file:// URL.

    Only a location the user named (a configured source, a file given on the command line) may be local; a link
    found in a feed or a page is fetched without `allow_local`, so it can never make tidings read a local file.
    Raise FetchError with a one-line reason.
    """
    if is_local(location):
        if not allow_local:
            raise FetchError(f"{location}: refusing to read a local file here "
                             "(only a source you name may be a local file)")
        path = local_path(location)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise FetchError(f"{path}: larger than {MAX_BYTES // 2**20} MB")
            body = path.read_bytes()
        except FileNotFoundError:
            raise FetchError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise FetchError(f"{path}: is a folder, not a file") from None
        except OSError as exc:
            raise FetchError(f"{path}: cannot read: {exc.strerror or exc}") from None
        return Response(url=path.resolve().as_uri(), body=body,
                        content_type="text/html" if path.suffix.lower() in (".html", ".htm") else "")
    scheme = urlsplit(location).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"{location}: unsupported URL scheme {scheme!r} (use http, https or a file path)")
    headers = {"User-Agent": user_agent, "Accept": "application/rss+xml, application/atom+xml, "
               "application/feed+json, application/xml;q=0.9, text/html;q=0.8, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=timeout)
    try:
        with client.stream("GET", location, headers=headers) as resp:
            if resp.status_code == 304:
                return Response(url=str(resp.url), body=b"", not_modified=True, etag=etag,
                                last_modified=last_modified)
            if resp.status_code >= 400:
                raise FetchError(f"{location}: HTTP {resp.status_code} {resp.reason_phrase}".rstrip())
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FetchError(f"{location}: larger than {MAX_BYTES // 2**20} MB")
                chunks.append(chunk)
            return Response(url=str(resp.url), body=b"".join(chunks),
                            content_type=resp.headers.get("content-type", ""), etag=resp.headers.get("etag"),
                            last_modified=resp.headers.get("last-modified"))
    except httpx.TimeoutException:
        raise FetchError(f"{location}: timed out after {timeout:g}s") from None
    except httpx.ConnectError as exc:
        raise FetchError(f"{location}: cannot connect: {_reason(exc)}") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{location}: {type(exc).__name__}: {_reason(exc)}") from None
    finally:
        if own:
            client.close()


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
