"""Knowing an article again: canonical URLs, GUIDs and content hashes.

The same article reaches tidings through several feeds, with tracking parameters, AMP variants and
syndicated copies. Each entry gets a set of keys; two entries sharing any key are one item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from tidings.model import Entry
from tidings.text import content_hash

if TYPE_CHECKING:
    import numpy as np

# Query parameters that only say where a click came from.
_TRACKING = {
    "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi",
    "mkt_tok", "ref_src", "ref_url", "cmpid", "ocid", "ncid", "sr_share", "spm", "smid", "soc_src", "soc_trk",
    "share", "xtor", "at_medium", "at_campaign", "guccounter", "rss", "feature", "__twitter_impression",
}
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "oly_")
_AMP_QUERY = {"amp", "outputtype", "amp_js_v", "usqp"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_AMP_END = re.compile(r"/amp/?$")
_AMP_SUFFIX = re.compile(r"\.amp(\.html?)?$")
_SLASHES = re.compile(r"/{2,}")


def canonical_url(url: str) -> str:
    """The form of a URL under which copies of one article coincide.

    Lower-case scheme and host, no default port, no fragment, no tracking or AMP parameters, sorted query,
    no trailing slash, AMP paths and hosts folded into the plain page.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port out of range, a broken IPv6 address: not a URL to take apart, only to compare
        return url.split("#", 1)[0]
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url.split("#", 1)[0]
    host = (parts.hostname or "").lower().rstrip(".")
    path = parts.path or "/"
    # Google's AMP cache: https://example-com.cdn.ampproject.org/c/s/example.com/a/b -> https://example.com/a/b
    if host.endswith(".cdn.ampproject.org"):
        m = re.match(r"^/[cv]/(s/)?([^/]+)(/.*)?$", path)
        if m:
            scheme = "https" if m.group(1) else "http"
            host, path = m.group(2).lower(), m.group(3) or "/"
    if host.startswith("amp."):
        host = host[4:]
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if "amp" in path:
        path = _AMP_END.sub("/", path)
        path = path.replace("/amp/", "/")
        path = _AMP_SUFFIX.sub(lambda m: m.group(1) or "", path)
    path = _SLASHES.sub("/", unquote(path).replace(" ", "%20"))
    if len(path) > 1:
        path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_noise(k)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def _is_noise(key: str) -> bool:
    k = key.lower()
    return k in _TRACKING or k in _AMP_QUERY or k.startswith(_TRACKING_PREFIXES)


# Texts shorter than this are too generic ("Live updates", "Photos") to identify an article by their hash.
MIN_HASHED_CHARS = 200


def entry_keys(entry: Entry, source_id: int) -> tuple[list[str], str]:
    """(dedupe keys, content hash) of an entry. Keys are prefixed by kind so they never collide.

    A short text is too generic to identify an article by its hash, unless the entry has neither a link nor a
    GUID: then its content is all that tells it apart, and without that key every reading of the feed would
    store it again.
    """
    chash = content_hash(entry.title, entry.text)
    keys = global_keys(entry)
    guid = (entry.guid or "").strip()
    if guid and not _global_guid(guid):
        keys.append(f"guid:{source_id}:{guid}")  # a bare number is only unique within its feed
    if len(entry.title) + len(entry.text) >= MIN_HASHED_CHARS or not (entry.url.strip() or guid):
        keys.append("hash:" + chash)
    return keys, chash


def global_keys(entry: Entry) -> list[str]:
    """The keys that identify an entry whatever source carried it: its canonical URL and a URL or tag: GUID.

    An entry without a link has no URL key: an empty one would make every link-less entry one item.
    """
    keys = []
    url = canonical_url(entry.url) if entry.url.strip() else ""
    if url:
        keys.append("url:" + url)
    guid = (entry.guid or "").strip()
    if guid and _global_guid(guid):
        keys.append("guid:" + (canonical_url(guid) if "://" in guid else guid))
    return keys


def _global_guid(guid: str) -> bool:
    guid = guid.strip()
    return "://" in guid or guid.startswith(("tag:", "urn:"))


# --- near-duplicates: MinHash signatures (tidings.minhash, imported when first needed) --------------------------

@dataclass(frozen=True)
class Keyed:
    """An entry with everything the store needs to know it again.

    The MinHash signature is made only when asked for: the store needs it for entries that no exact key
    matches, and a feed mostly repeats entries it carried before."""

    entry: Entry
    keys: tuple[str, ...]
    content_hash: str

    @cached_property
    def _minhash(self) -> np.ndarray | None:
        if self.entry.truncated:
            return None
        from tidings import minhash

        return minhash.signature(self.entry.title, self.entry.text)

    @property
    def signature(self) -> bytes | None:
        return self._minhash.tobytes() if self._minhash is not None else None

    @cached_property
    def bands(self) -> tuple[str, ...]:
        if self._minhash is None:
            return ()
        from tidings import minhash

        return minhash.band_keys(self._minhash)


def sign_all(entries: Iterable[Keyed]) -> None:
    """Make the signatures of many entries at once (`signatures`), for those that will need one."""
    waiting = [k for k in entries if "_minhash" not in k.__dict__ and not k.entry.truncated]
    if not waiting:
        return
    from tidings import minhash

    for k, sig in zip(waiting, minhash.signatures([(k.entry.title, k.entry.text) for k in waiting]), strict=True):
        k.__dict__["_minhash"] = sig  # what the cached property would have made


def keyed(entry: Entry, source_id: int) -> Keyed:
    keys, chash = entry_keys(entry, source_id)
    return Keyed(entry, tuple(keys), chash)
