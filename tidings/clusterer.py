"""The streaming story clusterer: one item at a time into stories, with a periodic maintenance pass.

Assignment: an item's TF-IDF vector (document frequencies grow one item at a time: nothing peeks at the future)
is compared by cosine with the centroids (sums of member vectors) of the stories that share its strongest terms,
found through an inverted index; it joins the best one above a threshold or starts a story. A lookup stops
scoring candidates once no weaker one can win (`_lookup`).

Maintenance (`tidings.maintenance`), using only what has been seen, re-weighs the stories that took items, moves
items to stories that fit them better, merges and splits stories by a likelihood test and folds tiny stories into
their nearest one. The same code serves the pipeline and `tidings eval cluster`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from math import sqrt
from operator import itemgetter, truediv

from tidings.embed import Vector, Vocabulary

__all__ = ["ClusterParams", "StoryClusterer", "Vocabulary", "blend", "dot", "no_cycle_collection"]
_by_weight = itemgetter(1)
EXACT_CHUNK = 20  # candidates a lookup completes at once (see `_exact_dots`)


@dataclass(frozen=True)
class ClusterParams:
    join: float = 0.12  # cosine an arriving item needs to join a story
    revive: float = 0.3  # cosine an item needs to join a dormant story (quiet longer than the window)
    candidate_terms: int = 12  # an item looks stories up through its strongest terms
    posting_cap: int = 200  # a term shared by more stories than this is too common to find candidates
    exact: int = 20  # candidates scored exactly, after ranking by the partial cosine
    merge_floor: float = 0.1  # mutually closest stories below this cosine are not tested for a merge
    merge_per_token: float = 0.04  # merge when the likelihood loses at most this much per token
    split_per_token: float = 0.08  # split when the likelihood gains at least this much per token
    split_min: int = 20  # each half of a split holds at least this many items
    absorb: float = 0.08  # cosine at which an item of a tiny story moves to its nearest story
    absorb_size: int = 2  # stories of at most this many items are tiny
    beta: float = 0.1  # Dirichlet smoothing of the likelihood test


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Hold Python's cycle collector off while many items are placed and tidied. The clusterer makes no
    reference cycles (its vectors and postings are dicts of numbers), so each collection would only walk its
    growing heap, and everything else the process holds: a tenth of a streaming run's time. The switch is the
    whole process's: another thread's cycles (a server's) wait too, and are collected when collections resume
    afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


DENSE = "~"  # keys of embedding dimensions, which no word can be (tokens are letters and digits)


def blend(lexical: Vector, dense, weight: float) -> Vector:
    """A unit vector whose cosine is `weight` * lexical cosine + (1 - weight) * embedding cosine."""
    a, b = sqrt(weight), sqrt(1.0 - weight)
    out = {t: x * a for t, x in lexical.items()} if weight > 0 else {}
    if b > 0:
        out.update((f"{DENSE}{j}", float(x) * b) for j, x in enumerate(dense))
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
        # items, by position
        self.item_keys: list[Hashable] = []
        self.docs: list[dict[str, float]] = []
        self.label: list[int] = []
        self.when: list[float] = []
        # stories, by internal id
        self.story_keys: dict[int, Hashable | None] = {}
        self.cent: dict[int, Vector] = {}
        self.base: dict[int, Vector] = {}  # mass of members that are not loaded (dormant stories)
        self.nsq: dict[int, float] = {}  # squared length of the centroid
        self.norm: dict[int, float] = {}  # its square root, kept beside it
        self.members: dict[int, set[int]] = {}
        self.last: dict[int, float] = {}
        self.index: dict[str, dict[int, float]] = {}
        self._next = 0
        self._split_size: dict[int, int] = {}  # a story's size when a split was last tested
        self.touched: set[int] = set()  # stories that took items since the last maintenance pass
        self._unweighed: list[int] = []  # stories loaded with members, whose centroids are not made yet
        self._pending: list[Callable[[], None]] = []  # what maintenance left to write back (see `_settle`)

    # --- loading what the store holds ---------------------------------------------------------------------

    def load_story(self, key: Hashable, members: Iterable[tuple[Hashable, dict[str, float], float]] = (),
                   centroid: Vector | None = None, last: float = 0.0) -> int:
        """A story the store already holds: its loaded members (key, counts, time), or for a dormant story only
        its centroid. Loaded items are not counted in the vocabulary again."""
        k = self._new(key)
        self.last[k] = last
        if centroid:
            self.base[k] = dict(centroid)
            self._set_centroid(k, dict(centroid))
        for item_key, counts, when in members:
            self._join(k, self._item(item_key, counts, when))
        if self.members[k]:
            self._unweighed.append(k)  # weighed all at once before the first lookup (`_settle`)
        return k

    def _settle(self) -> None:
        """Make the centroids that are waiting: those maintenance left to write back, and those of the stories
        loaded with members. Everything that reads centroids or the index settles first."""
        while self._pending or self._unweighed:
            while self._pending:
                self._pending.pop(0)()
            if self._unweighed:
                from tidings import maintenance

                stories, self._unweighed = sorted(set(self._unweighed) & self.members.keys()), []
                maintenance.weigh(self, stories)

    # --- assignment ---------------------------------------------------------------------------------------

    def add(self, key: Hashable, counts: dict[str, float], when: float = 0.0, observe: bool = True,
            dense=None, vector: Vector | None = None) -> int:
        """Place one new item (with its embedding when the clusterer blends one in); returns its story.
        `vector`: the item's lexical vector, when the caller has made it with the vocabulary as it is now."""
        self._settle()
        if observe:
            self.vocab.observe(counts)
        i = self._item(key, counts, when, dense)
        v = self._vector(i, vector)
        k, score = self._lookup(v, when, floor=self.p.join)
        if k is None or score < self.p.join:
            k = self._new(None)
        self._add_to(k, i, v)
        self.touched.add(k)
        return k

    def closest(self, vector: Vector, when: float | None = None) -> float:
        """The cosine of the story that a vector would join (0 when there is none)."""
        self._settle()
        return self._lookup(vector, when)[1]

    def _item(self, key: Hashable, counts: dict[str, float], when: float, dense=None) -> int:
        self.item_keys.append(key)
        self.docs.append(counts)
        self.dense.append(dense)
        self.label.append(-1)
        self.when.append(when)
        return len(self.docs) - 1

    def _vector(self, i: int, lexical: Vector | None = None) -> Vector:
        if lexical is None:
            lexical = self.vocab.vector(self.docs[i])
        if self.lexical_weight >= 1.0 or self.dense[i] is None:
            return lexical
        return blend(lexical, self.dense[i], self.lexical_weight)

    def _lookup(self, v: Vector, when: float | None = None, floor: float = 0.0) -> tuple[int | None, float]:
        """The story closest to `v` by cosine, among candidates from the index, and that cosine; a dormant
        story needs the revival score. With a `floor`, the caller has no use for a story below it: the answer is
        the closest story when that reaches the floor, and some story below it (or none) otherwise.

        Candidates are ranked by the partial cosine over v's strongest terms (those shared by few enough
        stories) and the best `exact` of them are scored exactly, strongest first: the exact dot product is the
        partial one plus what v's other terms add. Those terms can add at most their norm to a cosine
        (Cauchy-Schwarz), so once a candidate's partial cosine plus that norm falls short of the best score,
        neither it nor any weaker candidate can win, and they are not scored."""
        p = self.p
        items = v.items()
        top = sorted(items, key=_by_weight, reverse=True)[:p.candidate_terms] \
            if len(v) > p.candidate_terms else items
        partial: dict[int, float] = {}
        index, cap = self.index, p.posting_cap
        used: set[str] = set()
        for term, a in top:
            postings = index.get(term)
            if not postings:
                continue
            # Embedding dimensions are shared by every story: they rank candidates but have no cap.
            if len(postings) <= cap or term[0] == DENSE:
                used.add(term)
                if partial:
                    get = partial.get
                    for k, x in postings.items():
                        partial[k] = get(k, 0.0) + a * x
                else:
                    partial = {k: a * x for k, x in postings.items()}
        if not partial:
            return None, 0.0
        rest = [(t, a) for t, a in items if t not in used and index.get(t)] if len(used) < len(v) else []
        norm = self.norm
        ratio = dict(zip(partial, map(truediv, partial.values(), map(norm.__getitem__, partial)), strict=True))
        ranked = sorted(ratio, key=ratio.__getitem__, reverse=True)[:p.exact]  # stable: ties in index order
        best, best_score = None, 0.0
        # What the terms left out of the partial cosine can still add (plus a margin for rounding).
        slack = 1e-9 + (sqrt(sum(a * a for _, a in rest)) if rest else 0.0)
        dormant = when - self.window if when is not None and self.window is not None else None
        last = self.last
        exact_dots, done = partial, 0
        for n, k in enumerate(ranked):
            if ratio[k] + slack < (best_score if best_score > floor else floor):
                break  # no weaker candidate can reach the best score (or the floor)
            if rest and n >= done:
                done = n + EXACT_CHUNK
                exact_dots = self._exact_dots(ranked[n:done], partial, rest)
            d = exact_dots[k]
            if d <= 0.0:
                continue
            score = d / norm[k]
            if dormant is not None and last[k] < dormant and score < p.revive:
                continue  # dormant, and not a strong enough match to revive it
            if score > best_score or (score == best_score and best is not None and k < best):
                best, best_score = k, score
        return best, best_score

    def _exact_dots(self, stories: list[int], partial: dict[int, float], rest: list[tuple[str, float]]
                    ) -> dict[int, float]:
        """These stories' exact dot products with a vector: the partial ones plus what the vector's `rest` terms
        add, term by term in the vector's order (the sums a story-by-story loop makes, bit for bit). Each term
        visits only the stories its posting list shares with them: a set intersection, not a lookup per term
        and story."""
        dots = {k: partial[k] for k in stories}
        stories_in = dots.keys()
        index = self.index
        for t, a in rest:
            postings = index[t]
            for k in stories_in & postings.keys():
                dots[k] += a * postings[k]
        return dots

    # --- bookkeeping --------------------------------------------------------------------------------------

    def _new(self, key: Hashable | None) -> int:
        k = self._next
        self._next += 1
        self.story_keys[k] = key
        self.cent[k] = {}
        self.nsq[k] = self.norm[k] = 0.0
        self.members[k] = set()
        self.last[k] = 0.0
        return k

    def _unindex(self, k: int) -> None:
        """Story k's centroid taken out of the index."""
        for term in self.cent[k]:
            postings = self.index.get(term)
            if postings is not None:
                postings.pop(k, None)

    def _set_centroid(self, k: int, centroid: Vector) -> None:
        index = self.index
        self._unindex(k)
        self.cent[k] = centroid
        self.nsq[k] = sum(a * a for a in centroid.values())
        self.norm[k] = sqrt(self.nsq[k])
        for term, a in centroid.items():
            postings = index.get(term)
            if postings is None:
                index[term] = {k: a}
            else:
                postings[k] = a

    def _add_to(self, k: int, i: int, v: Vector) -> None:
        centroid, index = self.cent[k], self.index
        get = centroid.get
        d = 0.0
        for term, a in v.items():
            x = get(term)
            if x is None:
                centroid[term] = a
                postings = index.get(term)
                if postings is None:
                    index[term] = {k: a}
                else:
                    postings[k] = a
            else:
                d += a * x
                centroid[term] = index[term][k] = x + a
        self.nsq[k] += 2 * d + (1.0 if v else 0.0)  # |C + v|^2 = |C|^2 + 2 C.v + |v|^2
        self.norm[k] = sqrt(max(self.nsq[k], 0.0))
        self._join(k, i)

    def _join(self, k: int, i: int) -> None:
        """Item i becomes a member of story k (its vector is in the centroid already, or will be)."""
        self.members[k].add(i)
        if self.when[i] > self.last[k]:
            self.last[k] = self.when[i]
        self.label[i] = k

    def _drop(self, k: int) -> None:
        self._unindex(k)
        for table in (self.cent, self.nsq, self.norm, self.members, self.last):
            table.pop(k, None)  # maintenance takes a dropped story out of `members` at once
        self._split_size.pop(k, None)

    # --- maintenance --------------------------------------------------------------------------------------

    def maintain(self) -> None:
        """Tidy the stories that took items since the last pass (every story, in a single streaming run; the
        stories new items joined, in the pipeline): stories nobody touched are left as they are. See
        `tidings.maintenance`."""
        if not self.touched:
            return  # no story to tidy; re-weighing the loaded ones would change nothing anyone reads
        self._settle()
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
        self._settle()
        return self.cent[k]


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
