"""The streaming story clusterer: items into stories in order, with a periodic maintenance pass.

Assignment: an item's TF-IDF vector (document frequencies grow one item at a time: nothing peeks at the future)
is compared by cosine with the centroids (sums of member vectors) of the stories that share one of its strongest
terms, and it joins the best one above a threshold or starts a story. Every story's centroid is a row of one sparse
matrix, so a batch of items is compared with every story at once (`add_many`): one sparse product gives each item's
dot products with the stories as the batch began, and as each item joins a story, what that changes for the items
after it in the batch (their dot products with that story, and whether they find it) is one column of the batch's
own products. Each item still sees exactly the stories the items before it left: a batch places items as one at a
time would.

Maintenance (`tidings.maintenance`), using only what has been seen, re-weighs the stories that took items, moves
items to stories that fit them better, merges and splits stories by a likelihood test and folds tiny stories into
their nearest one. The same code serves the pipeline and `tidings eval cluster`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from math import log, sqrt

import numpy as np
from scipy import sparse

from tidings.embed import Vector, Vocabulary

__all__ = ["ClusterParams", "StoryClusterer", "Vocabulary", "blend", "dot", "strongest"]
BATCH = 256  # items placed against one product of the centroid matrix (see `add_many`)
BATCH_CELLS = 1_000_000  # and fewer when there are many stories: a batch's dense block is items x stories


@dataclass(frozen=True)
class ClusterParams:
    join: float = 0.12  # cosine an arriving item needs to join a story
    revive: float = 0.3  # cosine an item needs to join a dormant story (quiet longer than the window)
    candidate_terms: int = 12  # an item looks stories up through its strongest terms
    posting_cap: int = 200  # a term held by more stories than this is too common to find candidates
    merge_floor: float = 0.1  # mutually closest stories below this cosine are not tested for a merge
    merge_per_token: float = 0.04  # merge when the likelihood loses at most this much per token
    split_per_token: float = 0.08  # split when the likelihood gains at least this much per token
    split_min: int = 20  # each half of a split holds at least this many items
    absorb: float = 0.08  # cosine at which an item of a tiny story moves to its nearest story
    absorb_size: int = 2  # stories of at most this many items are tiny
    beta: float = 0.1  # Dirichlet smoothing of the likelihood test


DENSE = "~"  # keys of embedding dimensions, which no word can be (tokens are letters and digits)


def blend(lexical: Vector, dense, weight: float) -> Vector:
    """A unit vector whose cosine is `weight` * lexical cosine + (1 - weight) * embedding cosine."""
    a, b = sqrt(weight), sqrt(1.0 - weight)
    out = {t: x * a for t, x in lexical.items()} if weight > 0 else {}
    if b > 0:
        out.update((f"{DENSE}{j}", float(x) * b) for j, x in enumerate(dense))
    return out


def strongest(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, usable: np.ndarray, count: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `count` strongest terms (ties in the row's own order), of those the usable ones (`usable`: a
    flag per entry), of a sparse matrix given by its CSR arrays: the terms an item finds candidate stories by, as
    CSR arrays (bounds of the rows, term columns)."""
    n = len(indptr) - 1
    lengths = np.diff(indptr)
    row_of = np.repeat(np.arange(n), lengths)
    if len(data):
        # One sort: each entry's row, plus less than a half for how much weaker than the strongest weight it is.
        low, high = float(data.min()), float(data.max())
        key = row_of + (high - data) * (0.5 / (high - low) if high > low else 0.0)
        order = np.argsort(key, kind="stable")
    else:
        order = np.zeros(0, dtype=np.int64)
    rank = np.arange(len(order)) - indptr[row_of[order]]
    top = order[(rank < count) & usable[order]]  # still row by row
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of[top], minlength=n), out=bounds[1:])
    return bounds, indices[top]


def pattern(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """Where a matrix has entries, as ones."""
    return sparse.csr_matrix((np.ones(len(m.indices)), m.indices, m.indptr), shape=m.shape)


def resized(m: sparse.csr_matrix, rows: int, cols: int) -> sparse.csr_matrix:
    """A CSR matrix grown to more rows (empty) and columns, sharing its arrays."""
    if m.shape == (rows, cols):
        return m
    indptr = np.concatenate([m.indptr, np.full(rows - m.shape[0], m.indptr[-1], dtype=m.indptr.dtype)])
    return sparse.csr_matrix((m.data, m.indices, indptr), shape=(rows, cols))


class _Centroids:
    """Every story's centroid, kept as one sparse matrix of terms x stories (what a lookup multiplies by: each
    term's row lists the stories that hold it), with what changed since it was last put together kept aside (rows
    added to, rows replaced) until it is asked for, then put in at once."""

    FEW = 64  # changed entries put in one by one (a pass over the whole matrix costs more)

    def __init__(self) -> None:
        self._by_term = sparse.csr_matrix((0, 0))
        self._by_story: sparse.csr_matrix | None = None  # the same turned round, made when asked for
        # batches of rows added to stories: (each row's story, bounds of the rows, term columns, weights)
        self._added: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._replaced: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}  # story -> (len(_added) then, row)

    def add(self, stories: np.ndarray, bounds: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> None:
        """Each row (given as CSR arrays) added to its story's centroid."""
        self._added.append((stories, bounds, cols, weights))

    def replace(self, k: int, cols: np.ndarray, weights: np.ndarray) -> None:
        self._replaced[k] = (len(self._added), cols, weights)

    def reset(self, by_story: sparse.csr_matrix) -> None:
        """Every centroid at once: stories x terms."""
        self._by_term, self._by_story, self._added, self._replaced = by_story.T.tocsr(), by_story, [], {}

    def by_term(self, terms: int, stories: int) -> sparse.csr_matrix:
        m = resized(self._by_term, terms, stories)
        if self._replaced:
            keep = np.ones(stories)
            keep[np.fromiter(self._replaced, dtype=np.int64, count=len(self._replaced))] = 0.0
            parts = [(k, c, w) for k, (_, c, w) in self._replaced.items()]
            at = np.repeat(np.fromiter((k for k, _, _ in parts), dtype=np.int64, count=len(parts)),
                           [len(c) for _, c, _ in parts])
            m = sparse.csr_matrix(m @ sparse.diags(keep)) + sparse.csr_matrix(
                (np.concatenate([w for _, _, w in parts]), (np.concatenate([c for _, c, _ in parts]), at)),
                shape=(terms, stories))
        if self._added:
            owners, cols, weights = [], [], []
            for n, (owner, bounds, c, w) in enumerate(self._added):
                owner = np.repeat(owner, np.diff(bounds))
                gone = [k for k, (after, _, _) in self._replaced.items() if after > n]
                keep = ~np.isin(owner, gone) if gone else slice(None)  # added to a row before it was replaced
                owners.append(owner[keep])
                cols.append(c[keep])
                weights.append(w[keep])
            # each (term, story) once, the weights added to it in the order they came
            keys, where = np.unique(np.concatenate(cols) * stories + np.concatenate(owners), return_inverse=True)
            sums = np.bincount(where, np.concatenate(weights), minlength=len(keys))
            m.sort_indices()
            if len(keys) <= self.FEW:
                m = _inserted(m, keys // stories, keys % stories, sums)
            else:
                indptr = np.zeros(terms + 1, dtype=np.int64)
                np.cumsum(np.bincount(keys // stories, minlength=terms), out=indptr[1:])
                m = m + sparse.csr_matrix((sums, keys % stories, indptr), shape=(terms, stories))
        if self._added or self._replaced:
            m = sparse.csr_matrix(m)
            m.sum_duplicates()
            self._by_story, self._added, self._replaced = None, [], {}
        self._by_term = m
        return m

    def by_story(self, stories: int, terms: int) -> sparse.csr_matrix:
        m = self.by_term(terms, stories)
        if self._by_story is None:
            self._by_story = m.T.tocsr()
        self._by_story = resized(self._by_story, stories, terms)
        return self._by_story


def _inserted(m: sparse.csr_matrix, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> sparse.csr_matrix:
    """A CSR matrix (sorted, no duplicates) with a few values added at (row, column) places, sorted by place:
    added to an entry that is there, inserted where none is."""
    data, indices, indptr = m.data.copy(), m.indices, m.indptr
    places, new_rows, new_cols, new_values = [], [], [], []
    for r, c, v in zip(rows.tolist(), cols.tolist(), values.tolist(), strict=True):
        a, z = indptr[r], indptr[r + 1]
        p = a + int(np.searchsorted(indices[a:z], c))
        if p < z and indices[p] == c:
            data[p] += v
        else:
            places.append(p)
            new_rows.append(r)
            new_cols.append(c)
            new_values.append(v)
    if places:
        data = np.insert(data, places, new_values)
        indices = np.insert(indices, places, new_cols)
        indptr = indptr.copy()
        indptr[1:] += np.cumsum(np.bincount(new_rows, minlength=len(indptr) - 1))
    out = sparse.csr_matrix((data, indices, indptr), shape=m.shape)
    out.has_canonical_format = True  # as the matrix was: sorted, no duplicates (saves a pass to find it out)
    return out


class StoryClusterer:
    """Stories of one digest. Items and stories carry caller keys (store ids, or anything hashable)."""

    def __init__(self, vocabulary: Vocabulary, params: ClusterParams | None = None,
                 window: float | None = None, lexical_weight: float = 1.0) -> None:
        self.vocab = vocabulary
        self.p = params or ClusterParams()
        self.window = window  # seconds; a story quiet for longer is dormant (None: no time limits)
        self.lexical_weight = lexical_weight  # below 1, items carry an embedding too (see `blend`)
        self.dense: list = []
        # terms, as columns of the centroid matrix
        self.col: dict[str, int] = {}
        self.names: list[str] = []
        self.dense_cols: list[int] = []  # those of embedding dimensions
        # items, by position
        self.item_keys: list[Hashable] = []
        self.docs: list[dict[str, float]] = []
        self.label: list[int] = []
        self.when: list[float] = []
        # stories, by internal id (their row of the centroid matrix)
        self.story_keys: dict[int, Hashable | None] = {}
        self.rows = _Centroids()
        self.base: dict[int, Vector] = {}  # mass of members that are not loaded (dormant stories)
        self.nsq = np.zeros(16)  # squared length of each centroid
        self.last = np.zeros(16)  # each story's newest member's time
        self.members: dict[int, set[int]] = {}  # the stories that exist, and their loaded members
        self._next = 0
        self._split_size: dict[int, int] = {}  # a story's size when a split was last tested
        self.touched: set[int] = set()  # stories that took items since the last maintenance pass
        self._unweighed: list[int] = []  # stories loaded with members, whose centroids are not made yet

    # --- loading what the store holds ---------------------------------------------------------------------

    def load_story(self, key: Hashable, members: Iterable[tuple[Hashable, dict[str, float], float]] = (),
                   centroid: Vector | None = None, last: float = 0.0) -> int:
        """A story the store already holds: its loaded members (key, counts, time), or for a dormant story only
        its centroid. Loaded items are not counted in the vocabulary again."""
        k = self._new(key)
        self.last[k] = last
        if centroid:
            self.base[k] = dict(centroid)
            self.set_centroid(k, centroid)
        for item_key, counts, when in members:
            self._join(k, self._item(item_key, counts, when))
            if not counts.keys() <= self.col.keys():
                self.columns(counts)
        if self.members[k]:
            self._unweighed.append(k)  # weighed all at once before the first lookup (`settle`)
        return k

    def settle(self) -> None:
        """Make the centroids of the stories loaded with members; everything that reads centroids settles first."""
        if self._unweighed:
            from tidings import maintenance

            stories, self._unweighed = sorted(set(self._unweighed) & self.members.keys()), []
            maintenance.weigh(self, stories)

    # --- assignment ---------------------------------------------------------------------------------------

    def add(self, key: Hashable, counts: dict[str, float], when: float = 0.0, observe: bool = True,
            dense=None, vector: Vector | None = None) -> int:
        """Place one new item (with its embedding when the clusterer blends one in); returns its story.
        `vector`: the item's lexical vector, when the caller has made it with the vocabulary as it is now."""
        return self.add_many([key], [counts], [when], observe=observe, dense=None if dense is None else [dense],
                             vectors=None if vector is None else [vector])[0]

    def add_many(self, keys: Sequence[Hashable], counts: Sequence[dict[str, float]], when: Sequence[float],
                 observe: bool = True, dense: Sequence | None = None, vectors: Sequence[Vector] | None = None
                 ) -> list[int]:
        """Place new items in order, each seeing the stories the ones before it left; returns their stories.
        `vectors`: their lexical vectors, when the caller made each with the vocabulary as it was then."""
        self.settle()
        blends = self.lexical_weight < 1.0 and dense is not None
        placed: list[int] = []
        start = 0
        while start < len(keys):
            size = max(1, min(BATCH, BATCH_CELLS // max(self._next, 1)))
            stop = min(start + size, len(keys))
            docs = counts[start:stop]
            items = [self._item(keys[n], counts[n], when[n], None if dense is None else dense[n])
                     for n in range(start, stop)]
            terms = self._ids(list(chain.from_iterable(docs)))
            if vectors is None and not blends:
                rows = self._weighed(docs, terms, observe)
            else:
                if vectors is None:
                    at, ids, weights = self._weighed(docs, terms, observe)
                    names = self.names
                    lexical = [dict(zip([names[j] for j in ids[a:z].tolist()], weights[a:z].tolist(), strict=True))
                               for a, z in zip(at[:-1].tolist(), at[1:].tolist(), strict=True)]
                else:
                    lexical = vectors[start:stop]
                    for d in docs if observe else ():
                        self.vocab.observe(d)
                rows = self._rows([self._vector(i, v) for i, v in zip(items, lexical, strict=True)])
            placed += self._place(items, *rows)
            start = stop
        return placed

    def closest(self, vector: Vector, when: float | None = None) -> float:
        """The cosine of the story that a vector would join (0 when there is none)."""
        self.settle()
        lookup = _Lookup(self, *self._rows([vector]))
        return max(lookup.best(0, when)[1], 0.0)

    def _item(self, key: Hashable, counts: dict[str, float], when: float, dense=None) -> int:
        self.item_keys.append(key)
        self.docs.append(counts)
        self.dense.append(dense)
        self.label.append(-1)
        self.when.append(when)
        return len(self.docs) - 1

    def columns(self, terms: Iterable[str]) -> list[int]:
        """The columns of these terms, new terms given new ones."""
        col, names = self.col, self.names
        if isinstance(terms, dict) and terms.keys() <= col.keys():
            return list(map(col.__getitem__, terms))
        out = []
        for term in terms:
            j = col.get(term)
            if j is None:
                j = col[term] = len(names)
                names.append(term)
                if term[:1] == DENSE:
                    self.dense_cols.append(j)
            out.append(j)
        return out

    def _ids(self, terms: list[str]) -> np.ndarray:
        """The columns of these terms (an array), new terms given new ones."""
        try:
            return np.fromiter(map(self.col.__getitem__, terms), dtype=np.int64, count=len(terms))
        except KeyError:
            return np.array(self.columns(terms), dtype=np.int64)

    def _weighed(self, docs: Sequence[dict[str, float]], terms: np.ndarray, observe: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The TF-IDF unit vectors of documents (`terms`: the columns of their counts, end to end), as
        `Vocabulary.vector` makes each, bit for bit, all at once: each weighed with the document frequencies as they
        stand after the documents before it, and itself when `observe` (the vocabulary then counts them all). As
        CSR arrays: bounds of the rows, term columns, weights."""
        b, vocab = len(docs), self.vocab
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=b)
        counts = np.fromiter(chain.from_iterable(map(dict.values, docs)), dtype=float, count=len(terms))
        row = np.repeat(np.arange(b), lengths)
        distinct, term_of, held = np.unique(terms, return_inverse=True, return_counts=True)
        names = [self.names[j] for j in distinct.tolist()]
        before = np.fromiter(map(vocab.df.get, names, repeat(0)), dtype=np.int64, count=len(names))
        freq = before[term_of]
        n = np.full(b, vocab.documents + 1)  # N + 1 of the idf, as each document is weighed
        if observe:  # each document counts itself and the documents before it that hold its terms
            order = np.argsort(term_of, kind="stable")
            seen = np.empty(len(terms), dtype=np.int64)
            seen[order] = np.arange(1, len(terms) + 1) - (np.cumsum(held) - held)[term_of[order]]
            freq = freq + seen
            n += np.arange(1, b + 1)
            vocab.df.update(zip(names, (before + held).tolist(), strict=True))
            vocab.documents += b
        kept = counts >= 1.0
        row, counts, freq, terms = row[kept], counts[kept], freq[kept], terms[kept]
        # math.log, as `Vocabulary.vector` takes it, so the weights are the same bit for bit (numpy's may differ
        # in the last place)
        tf = 1.0 + np.fromiter(map(log, counts.tolist()), dtype=float, count=len(counts))
        idf = 1.0 + np.fromiter(map(log, (n[row] / (1 + freq)).tolist()), dtype=float, count=len(counts))
        weights = tf * idf
        norm = np.sqrt(np.bincount(row, weights * weights, minlength=b))  # in order, as a sum would add them
        weights /= norm[row]
        at = np.zeros(b + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=b), out=at[1:])
        return at, terms, weights

    def _rows(self, vectors: Sequence[Vector]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectors as CSR arrays: bounds of the rows, term columns, weights."""
        at = np.zeros(len(vectors) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, vectors), dtype=np.int64, count=len(vectors)), out=at[1:])
        ids = self._ids(list(chain.from_iterable(vectors)))
        weights = np.fromiter(chain.from_iterable(map(dict.values, vectors)), dtype=float, count=len(ids))
        return at, ids, weights

    def _vector(self, i: int, lexical: Vector) -> Vector:
        if self.lexical_weight >= 1.0 or self.dense[i] is None:
            return lexical
        return blend(lexical, self.dense[i], self.lexical_weight)

    def _place(self, items: list[int], at: np.ndarray, ids: np.ndarray, weights: np.ndarray) -> list[int]:
        """Place a batch of items (their vectors made: CSR arrays), in order: each joins the story closest to it,
        or starts one."""
        lookup = _Lookup(self, at, ids, weights)
        stories = []
        for n, i in enumerate(items):
            k, score = lookup.best(n, self.when[i])
            if k is None or score < self.p.join:
                k = self._new(None)
            lookup.join(n, k)
            self._join(k, i)
            self.touched.add(k)
            stories.append(k)
        self.rows.add(np.array(stories, dtype=np.int64), at, ids, weights)
        return stories

    # --- bookkeeping --------------------------------------------------------------------------------------

    def _new(self, key: Hashable | None) -> int:
        k = self._next
        self._next += 1
        if k >= len(self.nsq):
            self.nsq = np.concatenate([self.nsq, np.zeros(len(self.nsq))])
            self.last = np.concatenate([self.last, np.zeros(len(self.last))])
        self.story_keys[k] = key
        self.nsq[k] = self.last[k] = 0.0
        self.members[k] = set()
        return k

    def set_centroid(self, k: int, centroid: Vector) -> None:
        weights = np.fromiter(centroid.values(), dtype=float, count=len(centroid))
        self.rows.replace(k, np.array(self.columns(centroid), dtype=np.int64), weights)
        self.nsq[k] = float(weights @ weights)

    def _join(self, k: int, i: int) -> None:
        """Item i becomes a member of story k (its vector is in the centroid already, or will be)."""
        self.members[k].add(i)
        if self.when[i] > self.last[k]:
            self.last[k] = self.when[i]
        self.label[i] = k

    def matrix(self) -> sparse.csr_matrix:
        """The centroids as they stand: stories (by id) x term columns."""
        return self.rows.by_story(self._next, len(self.names))

    # --- maintenance --------------------------------------------------------------------------------------

    def maintain(self) -> None:
        """Tidy the stories that took items since the last pass (every story, in a single streaming run; the
        stories new items joined, in the pipeline): stories nobody touched are left as they are. See
        `tidings.maintenance`."""
        if not self.touched:
            return  # no story to tidy; re-weighing the loaded ones would change nothing anyone reads
        self.settle()
        from tidings import maintenance

        maintenance.tidy(self)
        self.touched.clear()

    # --- results ------------------------------------------------------------------------------------------

    def labels(self) -> list[int]:
        return list(self.label)

    def stories(self) -> dict[int, list[Hashable]]:
        """Internal story id -> keys of its loaded items."""
        return {k: [self.item_keys[i] for i in sorted(m)] for k, m in self.members.items()}

    def centroid(self, k: int) -> Vector:
        self.settle()
        m = self.matrix()
        a, z = m.indptr[k], m.indptr[k + 1]
        return dict(zip(map(self.names.__getitem__, m.indices[a:z].tolist()), m.data[a:z].tolist(), strict=True))


class _Lookup:
    """A batch of vectors against every story: their dot products with the stories, and which stories each finds
    (those holding one of its strongest usable terms), kept up to date as each joins a story.

    A term is usable while at most `posting_cap` stories hold it. When a story takes an item, it may come to hold a
    term it did not, and a term may pass the cap inside the batch: what a later item finds is then worked out again
    from the stories as they stand."""

    def __init__(self, engine: StoryClusterer, at: np.ndarray, ids: np.ndarray, weights: np.ndarray) -> None:
        """`at`, `ids`, `weights`: the vectors as CSR arrays (bounds of the rows, term columns, weights)."""
        self.e = e = engine
        p = e.p
        b = len(at) - 1
        lengths = np.diff(at)
        self.at, self.ids, self.weights = at, ids, weights
        self.m0 = m0 = e._next
        self.MT = MT = e.rows.by_term(len(e.names), m0)  # terms x stories
        width = m0 + b  # the stories there are, and room for one new story an item
        V = sparse.csr_matrix((self.weights, ids, at), shape=(b, len(e.names))) if b > 1 else None
        if V is not None:  # one sparse product; for a single item, reading its terms' rows costs less
            self.dots = np.zeros((b, width))
            self.dots[:, :m0] = (V @ MT).toarray()
        else:  # the same sums in the same order
            entry, stories, values = _postings(MT, ids)
            self.dots = np.bincount(np.repeat(np.arange(b), lengths)[entry] * width + stories,
                                    self.weights[entry] * values, minlength=b * width).astype(float).reshape(b, width)
        held = MT.indptr[ids + 1] - MT.indptr[ids]  # stories holding each entry's term
        dense = np.isin(ids, e.dense_cols) if e.dense_cols else np.zeros(len(ids), dtype=bool)
        self.S = strongest(self.weights, ids, at, (held <= p.posting_cap) | dense, p.candidate_terms)
        bounds, found_by = self.S
        self.finds = np.zeros((b, width), dtype=bool)
        self._find(np.repeat(np.arange(b), np.diff(bounds)), found_by)
        if V is not None:  # what an item joining a story changes for the items after it
            self.gram = (V @ V.T).toarray()
            self.terms_of = pattern(V).T.tocsr()
            S = sparse.csr_matrix((np.ones(len(found_by)), found_by, bounds), shape=V.shape)
            self.shares = (S @ self.terms_of).toarray() > 0  # item j's strongest usable terms among item i's terms
        self.story: list[int] = []  # where each item went
        # Terms that may pass the cap in this batch (each story that takes one may newly hold it), and how many
        # stories hold each of them.
        terms, at_entry, in_rows = np.unique(ids, return_index=True, return_counts=True)
        risky = (held[at_entry] <= p.posting_cap) & (held[at_entry] + in_rows > p.posting_cap) & ~dense[at_entry]
        self.held = dict(zip(terms[risky].tolist(), held[at_entry][risky].tolist(), strict=True))
        self.at_risk = set(self.held).intersection(found_by.tolist()) if self.held else set()
        self.unusable: set[int] = set()
        self.gained: dict[int, set[int]] = {}  # story -> terms at risk it came to hold in this batch

    def _find(self, rows: np.ndarray, terms: np.ndarray) -> None:
        """Each of these rows finds the stories that held its term when the batch began."""
        entry, stories, _ = _postings(self.MT, terms)
        self.finds[rows[entry], stories] = True

    def best(self, n: int, when: float | None) -> tuple[int | None, float]:
        """The story closest to item n by cosine, among those it finds, and that cosine; a dormant story
        (quiet longer than the window) needs the revival score. Ties go to the older story."""
        e = self.e
        m = e._next
        d = self.dots[n, :m]
        candidates = np.flatnonzero(self.finds[n, :m] & (d > 0.0))
        if not len(candidates):
            return None, 0.0
        score = d[candidates] / np.sqrt(e.nsq[candidates])
        if when is not None and e.window is not None:
            score[(e.last[candidates] < when - e.window) & (score < e.p.revive)] = -np.inf
        top = int(score.argmax())
        if score[top] == -np.inf:
            return None, 0.0
        return int(candidates[top]), float(score[top])

    def join(self, n: int, k: int) -> None:
        """Item n joins story k: the story's length, and the later items' dot products with it and whether they
        find it (its centroid takes the item's vector when the batch is done: see `StoryClusterer._place`)."""
        e = self.e
        a, z = self.at[n], self.at[n + 1]
        e.nsq[k] += 2 * self.dots[n, k] + (1.0 if z > a else 0.0)  # |C + v|^2 = |C|^2 + 2 C.v + |v|^2
        self.story.append(k)
        if n + 1 < len(self.dots):
            later = slice(n + 1, None)
            self.dots[later, k] += self.gram[later, n]
            self.finds[later, k] |= self.shares[later, n]
        if self.at_risk:
            self._count_terms(n, k)

    def _count_terms(self, n: int, k: int) -> None:
        """Story k took item n: count the stories holding the item's terms at risk of passing the cap."""
        terms = self.at_risk.intersection(self.ids[self.at[n]:self.at[n + 1]].tolist())
        if not terms:
            return
        gained = self.gained.setdefault(k, set())
        MT = self.MT
        passed = []
        for t in terms - gained:
            if k < self.m0 and k in MT.indices[MT.indptr[t]:MT.indptr[t + 1]]:
                continue  # the story held it before the batch
            gained.add(t)
            self.held[t] += 1
            if self.held[t] == self.e.p.posting_cap + 1:
                passed.append(t)
        if passed:
            self._unusable(passed, n)

    def _unusable(self, terms: list[int], n: int) -> None:
        """These terms passed the cap as item n joined: the later items that found stories by them find again."""
        bounds, found_by = self.S
        self.unusable.update(terms)
        for r in range(n + 1, len(bounds) - 1):
            row = found_by[bounds[r]:bounds[r + 1]].tolist()
            if not any(t in row for t in terms):
                continue
            kept = np.array([t for t in row if t not in self.unusable], dtype=np.int64)
            self.finds[r] = False
            self._find(np.full(len(kept), r), kept)
            mine = sparse.csr_matrix((np.ones(len(kept)), kept, [0, len(kept)]), shape=(1, self.terms_of.shape[0]))
            self.shares[r] = (mine @ self.terms_of).toarray()[0] > 0
            for i, k in enumerate(self.story):  # the stories the batch's items joined hold their terms
                if self.shares[r, i]:
                    self.finds[r, k] = True


def _postings(by_term: sparse.csr_matrix, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of these terms (entries of `terms`) in a terms x stories matrix, end to end: for each entry of
    each row, which of `terms` it is, its story and its weight."""
    starts = by_term.indptr[terms]
    lengths = by_term.indptr[terms + 1] - starts
    entry = np.repeat(np.arange(len(terms)), lengths)
    at = np.arange(len(entry)) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return entry, by_term.indices[at], by_term.data[at]


def dot(v: Vector, centroid: Vector) -> float:
    if len(centroid) < len(v):
        v, centroid = centroid, v
    get = centroid.get
    total = 0.0
    for term, a in v.items():
        x = get(term)
        if x is not None:
            total += a * x
    return total
