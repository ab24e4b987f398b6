"""Sparse-matrix helpers for the story clusterer's vectorised passes.

Rows are built from the clusterer's dict vectors in their own term order, and scipy's CSR product sums each entry
in the order of its left operand's row: a row of strongest terms times the centroids gives, bit for bit, the
partial cosines the clusterer's inverted-index loop adds up term by term.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, islice

import numpy as np
from scipy import sparse

csr_matrix, diags = sparse.csr_matrix, sparse.diags  # for the clusterer, which imports scipy only through here
Row = tuple[np.ndarray, np.ndarray]  # column ids, values (in the order of the vector they came from)
EMPTY: Row = (np.zeros(0, dtype=np.int64), np.zeros(0))


def row(vector: dict, columns: dict) -> Row:
    """A dict vector as a row, over the columns that name its keys (every key must have one)."""
    return (np.fromiter(map(columns.__getitem__, vector), dtype=np.int64, count=len(vector)),
            np.fromiter(vector.values(), dtype=float, count=len(vector)))


def grown(old: Row, vector: dict, columns: dict) -> Row:
    """`row(vector, columns)` for a vector that only took new keys (at its end) and new values since `old`."""
    known = len(old[0])
    if not known:
        return row(vector, columns)
    added = np.fromiter(map(columns.__getitem__, islice(vector, known, None)), dtype=np.int64,
                        count=len(vector) - known)
    return (np.concatenate([old[0], added]) if len(added) else old[0],
            np.fromiter(vector.values(), dtype=float, count=len(vector)))


def csr(rows: Sequence[Row], width: int, pattern: bool = False) -> sparse.csr_matrix:
    """Rows stacked into a CSR matrix with their entries in the given order (explicit zeros kept); with
    `pattern`, every entry is 1 (so a product counts shared columns, zeros included)."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(c) for c, _ in rows], out=indptr[1:])
    if indptr[-1]:
        indices = np.concatenate([c for c, _ in rows])
        data = np.ones(len(indices)) if pattern else np.concatenate([v for _, v in rows])
    else:
        indices, data = EMPTY
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), width))


try:  # scipy's own kernel for `matrix @ vector`, without the dispatch around it (it adds up in tight loops)
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - another scipy layout
    _csr_matvec = None


def matvec(matrix: sparse.csr_matrix, vector: np.ndarray, start: int = 0) -> np.ndarray:
    """`matrix[start:] @ vector` for a CSR matrix of floats and a vector of floats (the same kernel, the same
    sums), without copying the rows."""
    if _csr_matvec is None or matrix.dtype != np.float64 or vector.dtype != np.float64 \
            or matrix.indptr.dtype != matrix.indices.dtype:
        return matrix[start:] @ vector
    out = np.zeros(matrix.shape[0] - start)
    try:
        _csr_matvec(len(out), matrix.shape[1], matrix.indptr[start:], matrix.indices, matrix.data,
                    np.ascontiguousarray(vector), out)
    except (TypeError, ValueError):  # pragma: no cover - a kernel with another signature
        return matrix[start:] @ vector
    return out


def dense(matrix: sparse.spmatrix) -> np.ndarray:
    return np.asarray(matrix.toarray())


def _flat(vectors: Sequence[dict], columns: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dict vectors' column ids and values end to end, and where each vector starts (and the last ends)."""
    bounds = np.zeros(len(vectors) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in vectors], out=bounds[1:])
    total = int(bounds[-1])
    ids = np.fromiter(map(columns.__getitem__, chain.from_iterable(vectors)), dtype=np.int64, count=total)
    vals = np.fromiter(chain.from_iterable(map(dict.values, vectors)), dtype=float, count=total)
    return ids, vals, bounds


def rows(vectors: Sequence[dict], columns: dict) -> list[Row]:
    """Many dict vectors as rows at once (see `row`)."""
    ids, vals, bounds = _flat(vectors, columns)
    edges = bounds.tolist()
    return [(ids[a:b], vals[a:b]) for a, b in zip(edges, edges[1:], strict=False)]  # slices: np.split costs more


def matrix(vectors: Sequence[dict], columns: dict) -> sparse.csr_matrix:
    """`csr(rows(vectors, columns), len(columns))`, made at once."""
    ids, vals, bounds = _flat(vectors, columns)
    return sparse.csr_matrix((vals, ids, bounds), shape=(len(vectors), len(columns)))


def rank(ratio: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's candidates (columns with a finite `ratio`) in `_best`'s order: highest ratio first, equal
    ratios in column order. Returns the first of them, at most `depth` (-1 padding), and per row the ratio
    that no candidate left out exceeds (-inf when none is left out): the ones kept all exceed it."""
    m, width = ratio.shape
    k = min(depth + 1, width)
    if width > k:
        columns = np.argpartition(-ratio, k - 1, axis=1)[:, :k]  # the k highest, in no order
    else:
        columns = np.broadcast_to(np.arange(width), (m, width))
    values = np.take_along_axis(ratio, columns, 1)
    order = np.lexsort((columns, -values), axis=1)
    columns, values = np.take_along_axis(columns, order, 1), np.take_along_axis(values, order, 1)
    return _cut(columns, values, depth)


def _cut(columns: np.ndarray, values: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of columns sorted by value (highest first, -inf last): keep at most `depth`, all above the cut."""
    m = len(columns)
    cut = values[:, depth].copy() if values.shape[1] > depth else np.full(m, -np.inf)
    kept = values > cut[:, None]
    ranked = np.full((m, depth), -1, dtype=np.int64)
    width = min(depth, columns.shape[1])
    ranked[:, :width] = np.where(kept[:, :width], columns[:, :width], -1)
    return ranked, cut


def rerank(ranked: np.ndarray, cut: np.ndarray, ratio, gone: np.ndarray, changed: np.ndarray,
           changed_ratio: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """`rank` again after some columns changed (`changed`, with their new ratios, -inf for no candidate) and
    some went (`gone`), for rows whose other columns did not change: `ratio(columns)` gives the rows' ratios at
    those columns (`width`: how many columns there are). A row left with fewer than it needs, while candidates
    left out may tie with or beat them, must be ranked anew by the caller."""
    depth = ranked.shape[1]
    stale = np.zeros(width + 1, dtype=bool)  # the last one stands for padding
    stale[gone] = stale[changed] = stale[-1] = True
    kept = np.where(stale[ranked], -1, ranked)
    entering = changed_ratio > cut[:, None]
    most = int(entering.sum(1).max()) if entering.size else 0
    if most:  # each row's entering columns first, the rest padding
        first = np.argsort(~entering, axis=1, kind="stable")[:, :most]
        entering = np.where(np.take_along_axis(entering, first, 1), changed[first], -1)
        columns = np.concatenate([kept, entering], axis=1)
    else:
        columns = kept
    values = np.where(columns >= 0, ratio(columns), -np.inf)
    order = np.lexsort((np.where(columns >= 0, columns, np.iinfo(np.int64).max), -values), axis=1)
    columns, values = np.take_along_axis(columns, order, 1), np.take_along_axis(values, order, 1)
    new, new_cut = _cut(columns, values, depth)
    return new, np.maximum(cut, new_cut)


def pick(ranked: np.ndarray, cut: np.ndarray, exact: np.ndarray, norm: np.ndarray, limit: int
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of each row's first `limit` ranked columns, the one with the highest exact cosine (`exact` / `norm`,
    `exact` being the rows' values at the ranked columns; it must be positive; equal cosines: the first
    column). Returns the best column (-1: none), its cosine, and which rows cannot tell (fewer than `limit`
    ranked while candidates tie at the cut: the caller decides those)."""
    chosen = ranked[:, :limit]
    valid = chosen >= 0
    unsure = (valid.sum(1) < limit) & (cut > -np.inf)
    d = np.where(valid, exact[:, :limit], 0.0)
    ok = valid & (d > 0.0)
    safe = np.where(ok, chosen, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(ok, d / norm[safe], -np.inf)
    top = score.max(1) if limit else np.full(len(ranked), -np.inf)
    first = np.where(ok & (score == top[:, None]), chosen, np.iinfo(np.int64).max).min(1)
    best = np.where(top > -np.inf, first, -1)
    return best, top, unsure
