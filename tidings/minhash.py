"""Near-duplicates: MinHash signatures over word shingles, and LSH band keys to find similar ones.

Its own module, imported when a signature is first needed: numpy takes a tenth of a second to import, and a run
with nothing new never needs it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from tidings.text import tokens

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
    block = np.empty((2, most * PERMUTATIONS), dtype=np.uint64)
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
    """(a * x + b) mod p for every shingle hash x (rows) and permutation (columns), made in `block`. The remainder
    is y - (y // p) * p: numpy divides by a constant with a multiplication, three times faster than its remainder,
    which divides in hardware."""
    size = len(hashes) * PERMUTATIONS
    values = block[0, :size].reshape(len(hashes), PERMUTATIONS)
    quotients = block[1, :size].reshape(len(hashes), PERMUTATIONS)
    np.multiply(hashes[:, None], _A[None, :], out=values)
    values += _B
    np.floor_divide(values, _PRIME, out=quotients)
    quotients *= _PRIME
    values -= quotients
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
