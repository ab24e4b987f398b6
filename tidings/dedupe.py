"""Knowing an article again: canonical URLs, GUIDs and content hashes.

The same article reaches tidings through several feeds, with tracking parameters, AMP variants and
syndicated copies. Each entry gets a set of keys; two entries sharing any key are one item.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import numpy as np

from tidings.model import Entry
from tidings.text import content_hash, tokens

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


# --- near-duplicates: MinHash over word shingles, LSH banding --------------------------------------------------

SHINGLE_WORDS = 3
PERMUTATIONS = 128
BANDS = 32  # 32 bands of 4 rows: pairs above about 0.5 Jaccard almost always share a band
_PRIME = np.uint64(4294967291)  # the largest prime below 2**32: (a*x + b) stays inside 64 bits
_rng = np.random.default_rng(20260313)  # fixed: signatures must agree between runs and machines
_A = _rng.integers(1, int(_PRIME), PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, int(_PRIME), PERMUTATIONS, dtype=np.uint64)


def signature(title: str, text: str) -> np.ndarray | None:
    """MinHash signature of an article's word shingles, or None when it is too short to compare."""
    return signatures([(title, text)])[0]


# Shingles hashed at once (x 128 permutations x 8 bytes: 512 KB). The products are made, offset and reduced in
# place, in a block small enough to stay in the processor's cache: three times faster than one pass over a block
# 32 times larger, which memory bandwidth held back.
SIGNATURE_CHUNK = 512


def signatures(documents: Sequence[tuple[str, str]]) -> list[np.ndarray | None]:
    """The MinHash signature of each (title, text), None for one too short to compare: the permutations applied
    to several documents' shingles at once, without numpy's overhead per document."""
    hashed = [_shingle_hashes(title, text) for title, text in documents]
    out: list[np.ndarray | None] = [None] * len(hashed)
    # Each call its own block (readers run in threads), no larger than its documents need.
    most = min(SIGNATURE_CHUNK, sum(len(h) for h in hashed if h is not None))
    block = np.empty(most * PERMUTATIONS, dtype=np.uint64)
    group: list[int] = []
    size = 0
    for n, hashes in enumerate(hashed):
        if hashes is None:
            continue
        if len(hashes) > SIGNATURE_CHUNK:  # a long text alone, a block of its shingles at a time
            signature = None
            for start in range(0, len(hashes), SIGNATURE_CHUNK):
                least = _permuted(hashes[start:start + SIGNATURE_CHUNK], block).min(axis=0)
                signature = least if signature is None else np.minimum(signature, least, out=signature)
            out[n] = signature.astype(np.uint32)
            continue
        if group and size + len(hashes) > SIGNATURE_CHUNK:
            _sign(hashed, group, out, block)
            group, size = [], 0
        group.append(n)
        size += len(hashes)
    if group:
        _sign(hashed, group, out, block)
    return out


def _sign(hashed: list, group: list[int], out: list, block: np.ndarray) -> None:
    """The signatures of the documents at the `group` positions, from one matrix of all their shingles: each
    permutation's minimum over each document's rows."""
    starts = np.cumsum([0] + [len(hashed[n]) for n in group[:-1]])
    values = _permuted(np.concatenate([hashed[n] for n in group]), block)
    for n, sig in zip(group, np.minimum.reduceat(values, starts, axis=0).astype(np.uint32), strict=True):
        out[n] = sig


def _permuted(hashes: np.ndarray, block: np.ndarray) -> np.ndarray:
    """(a * x + b) mod p for every shingle hash x (rows) and permutation (columns), made in `block`."""
    values = block[:len(hashes) * PERMUTATIONS].reshape(len(hashes), PERMUTATIONS)
    np.multiply(hashes[:, None], _A[None, :], out=values)
    values += _B
    np.remainder(values, _PRIME, out=values)
    return values


def _shingle_hashes(title: str, text: str) -> np.ndarray | None:
    words = tokens(title + " " + text)
    if len(words) < SHINGLE_WORDS + 8:
        return None
    shingles = set(map(" ".join, zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)))  # runs of words
    return np.fromiter(map(zlib.crc32, map(str.encode, shingles)), dtype=np.uint64, count=len(shingles))


def band_keys(sig: np.ndarray) -> tuple[str, ...]:
    rows = PERMUTATIONS // BANDS
    return tuple(f"{b}:{zlib.crc32(sig[b * rows:(b + 1) * rows].tobytes()):08x}" for b in range(BANDS))


def similarity(a: bytes | np.ndarray, b: bytes | np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    sa = np.frombuffer(a, dtype=np.uint32) if isinstance(a, bytes) else a
    sb = np.frombuffer(b, dtype=np.uint32) if isinstance(b, bytes) else b
    return float(np.mean(sa == sb))


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
        return None if self.entry.truncated else signature(self.entry.title, self.entry.text)

    @property
    def signature(self) -> bytes | None:
        return self._minhash.tobytes() if self._minhash is not None else None

    @cached_property
    def bands(self) -> tuple[str, ...]:
        return band_keys(self._minhash) if self._minhash is not None else ()


def sign_all(entries: Iterable[Keyed]) -> None:
    """Make the signatures of many entries at once (`signatures`), for those that will need one."""
    waiting = [k for k in entries if "_minhash" not in k.__dict__ and not k.entry.truncated]
    for k, sig in zip(waiting, signatures([(k.entry.title, k.entry.text) for k in waiting]), strict=True):
        k.__dict__["_minhash"] = sig  # what the cached property would have made


def keyed(entry: Entry, source_id: int) -> Keyed:
    keys, chash = entry_keys(entry, source_id)
    return Keyed(entry, tuple(keys), chash)
