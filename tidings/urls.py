"""The one URL policy: a link that comes from a feed or a page is kept only if it is an absolute http(s) URL.

Ingest applies it when it parses a feed or a page, and every output (site, Atom, JSON export) applies it again
when it renders a link, so a `javascript:`, `data:` or `file:` link can neither be stored nor shown. Only the
user names local files, as sources in the config or on the command line.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urljoin, urlsplit

WEB_SCHEMES = ("http", "https")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def web_url(link: str | None, base: str = "") -> str:
    """`link` resolved against `base`, if the result is an absolute http(s) URL with a host; otherwise ""."""
    if not isinstance(link, str):
        return ""
    link = _CONTROLS.sub("", link.strip())  # no control characters in a URL
    if not link:
        return ""
    try:
        absolute = urljoin(base, link) if base and urlsplit(base).scheme.lower() in WEB_SCHEMES else link
        parts = urlsplit(absolute)
    except ValueError:  # e.g. an invalid IPv6 host
        return ""
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return ""
    return absolute


def is_loopback_host(host: str) -> bool:
    """Whether a host name is this machine itself: `localhost`, or a loopback address (127.0.0.0/8, ::1). A name
    that merely starts with "127." is another machine's, however it looks."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def without_login(url: str) -> str:
    """An address as a message shows it: without any user:password@ it carries."""
    return re.sub(r"(?<=://)[^/@\s]*@", "", url)
