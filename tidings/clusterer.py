"""The streaming story clusterer: one item at a time into stories, with a periodic maintenance pass.

Assignment: an item's TF-IDF vector (document frequencies grow one item at a time: nothing peeks at the future)
is compared by cosine with the centroids (sums of member vectors) of the stories that share its strongest terms,
found through an inverted index; it joins the best one above a threshold or starts a story.

Maintenance, using only what has been seen: re-weight every vector with the current IDF; one sweep that moves
an item to a story that fits it better than its own (itself left out); merge mutually closest stories when a
Dirichlet-multinomial likelihood test says one story explains their words about as well as two; split a large
story when the same test strongly prefers its best bisection; fold stories of one or two items into their
nearest story. The same code serves the pipeline and `tidings eval cluster`.

Speed without changing the answers: a lookup stops scoring candidates once no weaker one can win (`_lookup`);
the sweep skips items that provably stay (`_Stays`); the
merge pass keeps every story's lookup as matrices across its rounds and redoes only what a merge may change
(`_MergeMatrices`); the bisection uses sparse products. Where sums are taken in another order than before, the
decisions they feed are made with a margin or checked the long way near their thresholds.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from math import lgamma, log, sqrt
from operator import itemgetter, mul, truediv
from typing import TYPE_CHECKING

import numpy as np

from tidings.embed import Vector, Vocabulary

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix


class _Sparse:
    """`tidings.sparse` (and with it scipy), imported when a pass first needs matrices: a run that places a few
    items into a few stories never does, and importing scipy takes a tenth of a second."""

    def __getattr__(self, name: str):
        from tidings import sparse as module

        globals()["sparse"] = module
        return getattr(module, name)


sparse = _Sparse()

__all__ = ["ClusterParams", "StoryClusterer", "Vocabulary", "blend", "dot", "no_cycle_collection"]
_by_weight = itemgetter(1)
MERGE_QUERY_TERMS = 64  # a story looks up merge partners by this many of its strongest terms
REASSIGN_EXACT = 8  # candidates scored exactly in the maintenance sweep
MERGE_EXACT = 20  # merge partners scored exactly, after ranking by the partial cosine
MERGE_MATRIX_CELLS = 4_000_000  # largest (touched stories x stories) the merge pass holds as matrices
MERGE_MATRIX_ROWS = 200  # fewer touched stories than this look their merge partners up one by one
SCREEN_ITEMS = 2000  # a maintenance sweep over fewer items looks each one up without screening
EXACT_CHUNK = 20  # candidates a lookup completes at once (see `_exact_dots`)
ITEM_CHUNK = 2048  # items the maintenance sweep screens at once, as matrices


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
        self.tokens: list[float] = []
        self.vecs: list[Vector] = []
        self.label: list[int] = []
        self.when: list[float] = []
        # stories, by internal id
        self.story_keys: dict[int, Hashable | None] = {}
        self.cent: dict[int, Vector] = {}
        self.base: dict[int, Vector] = {}  # mass of members that are not loaded (dormant stories)
        self.nsq: dict[int, float] = {}  # squared length of the centroid
        self.norm: dict[int, float] = {}  # its square root, kept beside it
        self.members: dict[int, set[int]] = {}
        self.tc: dict[int, Counter] = {}
        self.tn: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.index: dict[str, dict[int, float]] = {}
        self._next = 0
        self._split_size: dict[int, int] = {}
        self.touched: set[int] = set()  # stories that took items since the last maintenance pass
        self._unweighed = False  # members loaded without their vectors (see `load_story`)
        self._rows: tuple | None = None  # (vecs, item -> row, matrix): item vectors as rows, while vecs holds

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
            # Weighed all at once before the first lookup (`_settle`), faster than one by one.
            self._join(k, self._item(item_key, counts, when, weigh=False))
        self._unweighed = self._unweighed or bool(self.members[k])
        return k

    def _settle(self) -> None:
        """Weigh the loaded members and make their stories' centroids, if any are waiting."""
        if self._unweighed:
            self._reweight()

    # --- assignment ---------------------------------------------------------------------------------------

    def add(self, key: Hashable, counts: dict[str, float], when: float = 0.0, observe: bool = True,
            dense=None, vector: Vector | None = None) -> int:
        """Place one new item (with its embedding when the clusterer blends one in); returns its story.
        `vector`: the item's lexical vector, when the caller has made it with the vocabulary as it is now."""
        self._settle()
        if observe:
            self.vocab.observe(counts)
        i = self._item(key, counts, when, dense, lexical=vector)
        v = self.vecs[i]
        k, score, _ = self._lookup(v, when, floor=self.p.join)
        if k is None or score < self.p.join:
            k = self._new(None)
        self._add_to(k, i, v)
        self.touched.add(k)
        return k

    def closest(self, vector: Vector, when: float | None = None) -> float:
        """The cosine of the story that a vector would join (0 when there is none)."""
        self._settle()
        return self._best(vector, when=when)[1]

    def _item(self, key: Hashable, counts: dict[str, float], when: float, dense=None, weigh: bool = True,
              lexical: Vector | None = None) -> int:
        self.item_keys.append(key)
        self.docs.append(counts)
        self.tokens.append(sum(counts.values()))
        self.dense.append(dense)
        self.vecs.append(self._vector(len(self.docs) - 1, lexical) if weigh else {})
        self.label.append(-1)
        self.when.append(when)
        return len(self.docs) - 1

    def _vector(self, i: int, lexical: Vector | None = None) -> Vector:
        if lexical is None:
            lexical = self.vocab.vector(self.docs[i])
        if self.lexical_weight >= 1.0 or self.dense[i] is None:
            return lexical
        return blend(lexical, self.dense[i], self.lexical_weight)

    def _best(self, v: Vector, when: float | None = None, own: int | None = None, exclude: int | None = None,
              exact: int | None = None, info: dict | None = None) -> tuple[int | None, float]:
        """The story closest to `v` by cosine, among candidates from the index; for `own` (v is a member) the
        cosine with v left out. Dormant stories need the revival score."""
        best, score, _ = self._lookup(v, when, own, exclude, exact, info)
        return best, score

    def _lookup(self, v: Vector, when: float | None = None, own: int | None = None, exclude: int | None = None,
                exact: int | None = None, info: dict | None = None, floor: float = 0.0
                ) -> tuple[int | None, float, float]:
        """`_best`, and the dot product of v with `own`'s centroid (0 without `own`). With a `floor`, the caller
        has no use for a story below it: the answer is `_best`'s when that reaches the floor, and some story
        below it (or none) otherwise.

        Candidates are ranked by the partial cosine over v's strongest terms (those shared by few enough
        stories) and the best `exact` of them are scored exactly, strongest first: the exact dot product is the
        partial one plus what v's other terms add. Those terms can add at most their norm to a cosine
        (Cauchy-Schwarz), so once a candidate's partial cosine plus that norm falls short of the best score,
        neither it nor any weaker candidate can win, and they are not scored. `info`, when given, receives
        what `_merge` needs to know when the answer may change."""
        p = self.p
        items = v.items()
        top = sorted(items, key=_by_weight, reverse=True)[:p.candidate_terms] \
            if len(v) > p.candidate_terms else items
        partial: dict[int, float] = {}
        index, cap = self.index, p.posting_cap
        used: list[tuple[str, float]] = []
        capped: list[str] = []
        for term, a in top:
            postings = index.get(term)
            if not postings:
                continue
            # Embedding dimensions are shared by every story: they rank candidates but have no cap.
            if len(postings) <= cap or term[0] == DENSE:
                used.append((term, a))
                if partial:
                    get = partial.get
                    for k, x in postings.items():
                        partial[k] = get(k, 0.0) + a * x
                else:
                    partial = {k: a * x for k, x in postings.items()}
            else:
                capped.append(term)
        if exclude is not None:
            partial.pop(exclude, None)
        if info is not None:
            info.update(used=used, capped=capped, candidates=partial.keys(), cutoff=None, chosen=())
        cent = self.cent
        if len(used) < len(v):
            taken = {t for t, _ in used}
            rest = [(t, a) for t, a in items if t not in taken and index.get(t)]
        else:
            rest = []
        d_own = 0.0
        if own is not None:
            if own in partial:
                d_own = partial[own]
                get = cent[own].get
                for t, a in rest:
                    x = get(t)
                    if x is not None:
                        d_own += a * x
            else:
                d_own = dot(v, cent[own])
        if not partial:
            return None, 0.0, d_own
        nsq, norm = self.nsq, self.norm
        ratio = dict(zip(partial, map(truediv, partial.values(), map(norm.__getitem__, partial)), strict=True))
        ranked = sorted(ratio, key=ratio.__getitem__, reverse=True)  # stable: ties keep the index's order
        limit = exact or p.exact
        if len(ranked) > limit:
            ranked = ranked[:limit]
            if info is not None:
                info["cutoff"] = ratio[ranked[-1]]
        if info is not None:
            info["chosen"] = ranked
        best, best_score = None, 0.0
        if own is not None and own in partial:
            left = nsq[own] - 2 * d_own + 1.0
            if left > 1e-9:
                score = (d_own - 1.0) / sqrt(left)
                if score > 0.0:
                    best, best_score = own, score
        # What the terms left out of the partial cosine can still add (plus a margin for rounding).
        slack = 1e-9 + (sqrt(sum(a * a for _, a in rest)) if rest else 0.0)
        dormant = when - self.window if when is not None and self.window is not None else None
        last = self.last
        exact_dots, done = partial, 0
        for n, k in enumerate(ranked):
            if k == own:
                continue
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
        return best, best_score, d_own

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
        self.tc[k] = Counter()
        self.tn[k] = 0.0
        self.last[k] = 0.0
        return k

    def _set_centroid(self, k: int, centroid: Vector) -> None:
        for term in self.cent[k]:
            postings = self.index.get(term)
            if postings is not None:
                postings.pop(k, None)
        self.cent[k] = centroid
        self.nsq[k] = sum(a * a for a in centroid.values())
        self.norm[k] = sqrt(self.nsq[k])
        index = self.index
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
        tc = self.tc[k]
        if tc:
            get = tc.get
            for term, c in self.docs[i].items():  # tc.update(docs[i]), without its overhead
                tc[term] = c + get(term, 0)
        else:
            dict.update(tc, self.docs[i])
        self.tn[k] += self.tokens[i]
        self.last[k] = max(self.last[k], self.when[i])
        self.label[i] = k

    def _remove(self, k: int, i: int, v: Vector) -> None:
        centroid, index = self.cent[k], self.index
        d = 0.0
        for term, a in v.items():
            x = centroid[term]
            d += a * x
            centroid[term] = index[term][k] = x - a
        self.nsq[k] += -2 * d + (1.0 if v else 0.0)
        self.norm[k] = sqrt(max(self.nsq[k], 0.0))
        self.members[k].discard(i)
        self.tc[k].subtract(self.docs[i])
        self.tn[k] -= self.tokens[i]
        if not self.members[k] and k not in self.base:
            self._drop(k)

    def _move(self, i: int, to: int) -> None:
        self._remove(self.label[i], i, self.vecs[i])
        self._add_to(to, i, self.vecs[i])

    def _merge_into(self, keep: int, gone: int) -> None:
        """Move every item of `gone` to `keep` (in item order, as `_move` would), then drop `gone`."""
        vecs = self.vecs
        for i in sorted(self.members[gone]):
            self._add_to(keep, i, vecs[i])
        self._drop(gone)

    def _drop(self, k: int) -> None:
        for term in self.cent[k]:
            postings = self.index.get(term)
            if postings is not None:
                postings.pop(k, None)
        for table in (self.cent, self.nsq, self.norm, self.members, self.tc, self.tn, self.last):
            del table[k]
        self._split_size.pop(k, None)

    # --- maintenance --------------------------------------------------------------------------------------

    def maintain(self) -> None:
        """Tidy the stories that took items since the last pass (every story, in a single streaming run; the
        stories new items joined, in the pipeline): stories nobody touched are left as they are."""
        if not self.touched:
            return  # no story to tidy; re-weighing the loaded ones would change nothing anyone reads
        self._reweight(self.touched & self.members.keys())
        self._reassign()
        self._merge()
        self._split()
        self._absorb()
        self.touched.clear()

    def _reweight(self, stories: set[int] | None = None) -> None:
        """Vectors made while the vocabulary was young used immature IDF: make them again. With `stories`, only
        their members' vectors and their centroids: a pipeline run's maintenance pass tidies the few stories new
        items joined, and the others keep the weights the run loaded them with (a few new items barely move the
        IDF of a store's many)."""
        if stories is not None and not self._unweighed and len(stories) < len(self.members):
            ids = sorted(i for k in stories for i in self.members[k])
            for i, vector in zip(ids, self._vectors(ids), strict=True):
                self.vecs[i] = vector
            for k in sorted(stories):
                self._set_centroid(k, self._centroid_of(k))
            return
        self._unweighed = False
        self.vecs = self._vectors(range(len(self.docs)))
        self.index = {}
        for k in self.members:
            self.cent[k] = {}
            self._set_centroid(k, self._centroid_of(k))

    def _centroid_of(self, k: int) -> Vector:
        """Story k's centroid made again: the mass of its members that are not loaded, plus its members' vectors."""
        centroid = dict(self.base.get(k, {}))
        get, vecs = centroid.get, self.vecs
        for i in self.members[k]:
            for term, a in vecs[i].items():
                centroid[term] = get(term, 0.0) + a
        return centroid

    def _vectors(self, ids: Sequence[int]) -> list[Vector]:
        """These items' vectors with the vocabulary as it is now: `Vocabulary.vector` item by item, with each
        term's IDF and each count's weight worked out once (the same numbers: the same operations on the
        same operands). Checked against `Vocabulary.vector` on a few items; should they differ (another
        weighting), it is `Vocabulary.vector` for all."""
        docs = [self.docs[i] for i in ids]
        if not docs or type(self.vocab).vector is not Vocabulary.vector \
                or self.lexical_weight < 1.0 and any(self.dense[i] is not None for i in ids):
            return [self._vector(i) for i in ids]
        n1, df = self.vocab.documents + 1, self.vocab.df
        idf: dict[str, float] = {}
        tf: dict[float, float] = {}
        out = []
        for counts in docs:
            vec = {}
            for t, c in counts.items():
                if c >= 1:
                    w = tf.get(c)
                    if w is None:
                        w = tf[c] = 1.0 + log(c)
                    f = idf.get(t)
                    if f is None:
                        f = idf[t] = log(n1 / (1 + df.get(t, 0))) + 1.0
                    vec[t] = w * f
            norm = sqrt(sum(a * a for a in vec.values()))
            out.append({t: a / norm for t, a in vec.items()} if norm else {})
        for n in {0, len(docs) // 2, len(docs) - 1}:
            if out[n] != self.vocab.vector(docs[n]):
                return [self._vector(i) for i in ids]
        return out

    def _reassign(self) -> None:
        scope = sorted(i for k in self.touched if k in self.members for i in self.members[k])
        # Screening pays off for many items (it makes every story's row first) whose lookups are dear: items
        # with more terms than a lookup ranks candidates by.
        stays = _Stays(self, scope) if len(scope) >= SCREEN_ITEMS and \
            sum(len(self.vecs[i]) for i in scope) > self.p.candidate_terms * len(scope) else None
        for i in scope:
            v, k = self.vecs[i], self.label[i]
            if stays and stays.certain(i, k):
                continue
            best, score, d = self._lookup(v, when=self.when[i], own=k, exact=REASSIGN_EXACT)
            if best is None or best == k:
                continue
            if len(self.members[k]) == 1 and k not in self.base:
                if score < self.p.join:
                    continue
            elif score <= (d - 1.0) / sqrt(max(self.nsq[k] - 2 * d + 1.0, 1e-9)):
                continue
            self._move(i, best)
            if stays:
                stays.moved(i, k, best)

    def _likelihood(self, counts: Counter, n: float) -> float:
        """log Dirichlet-multinomial marginal likelihood of a story's words."""
        b, vocabulary = self.p.beta, self.vocab.size
        lb = lgamma(b)
        return sum(lgamma(x + b) - lb for x in counts.values() if x > 0) \
            - (lgamma(n + vocabulary * b) - lgamma(vocabulary * b))

    def _merge_gain(self, k: int, other: int, likelihood: dict[int, float]) -> float:
        """How much the likelihood gains (loses, when negative) when two stories become one.

        Words only one of them has contribute alike to both sides, so the gain is summed over the shared words
        alone. That sum is rounded differently from `_likelihood(merged) - _likelihood(k) - _likelihood(other)`
        (by far less than 1e-9 per token), so when it is that close to the threshold, the gain is taken the
        long way, as the three likelihoods (kept in `likelihood` while the stories do not change)."""
        b, vocabulary = self.p.beta, self.vocab.size
        first, second = sorted((self.tc[k], self.tc[other]), key=len)
        n_k, n_o = self.tn[k], self.tn[other]
        n = n_k + n_o
        lb = lgamma(b)
        shared = 0.0
        get = second.get
        for t, x in first.items():
            y = get(t)
            if y is not None and x > 0 and y > 0:
                shared += lgamma(x + y + b) - lgamma(x + b) - lgamma(y + b) + lb
        gain = shared - lgamma(n + vocabulary * b) + lgamma(n_k + vocabulary * b) + lgamma(n_o + vocabulary * b) \
            - lgamma(vocabulary * b)
        if abs(gain / n + self.p.merge_per_token) > 1e-6:
            return gain
        for j in (k, other):
            if j not in likelihood:
                likelihood[j] = self._likelihood(self.tc[j], self.tn[j])
        return self._likelihood_of_both(self.tc[k], self.tc[other], n) - likelihood[k] - likelihood[other]

    def _likelihood_of_both(self, first: Counter, second: Counter, n: float) -> float:
        """`_likelihood(first + second, n)`, summed in the same order, without making the sum."""
        b, vocabulary = self.p.beta, self.vocab.size
        lb = lgamma(b)
        get = second.get
        return sum(chain((lgamma(z + b) - lb for t, x in first.items() if (z := x + get(t, 0)) > 0),
                         (lgamma(y + b) - lb for t, y in second.items() if y > 0 and t not in first))) \
            - (lgamma(n + vocabulary * b) - lgamma(vocabulary * b))

    def _merge(self) -> None:
        """Merge mutually closest stories, round after round until no pair merges. Each round needs every touched
        story's closest story; `_MergeMatrices` keeps them all as matrices (`_Lookups` one by one, when the
        matrices would be too large), and either looks a story up again only when a merge may have changed
        the answer."""
        eligible = [k for k in self.touched & self.cent.keys() if self.nsq[k] > 1e-9 and k not in self.base]
        # The matrices pay for making every story's row when many stories look partners up (a whole stream
        # at once); a day's few touched stories are quicker one by one.
        if len(eligible) >= MERGE_MATRIX_ROWS and len(eligible) * len(self.cent) <= MERGE_MATRIX_CELLS:
            lookups: _MergeMatrices | _Lookups = _MergeMatrices(self, eligible)
        else:
            lookups = _Lookups(self)
        likelihood: dict[int, float] = {}  # story -> its words' likelihood, while it does not change
        rejected: set[tuple[int, int]] = set()  # pairs the likelihood test turned down, while neither changes
        floor = self.p.merge_floor
        while True:
            closest = lookups.all_closest(sorted(k for k in self.touched & self.cent.keys()
                                                 if self.nsq[k] > 1e-9 and k not in self.base))
            used: set[int] = set()
            merges: list[tuple[int, int]] = []
            for k, (other, _) in sorted(((k, kv) for k, kv in closest.items() if kv[1] >= floor),
                                        key=lambda kv: (-kv[1][1], kv[0])):
                if k in used or other in used or closest.get(other, (None,))[0] != k:
                    continue
                if (k, other) in rejected:
                    continue
                n = self.tn[k] + self.tn[other]
                gain = self._merge_gain(k, other, likelihood)
                if gain / n < -self.p.merge_per_token:
                    rejected.add((k, other))
                    continue
                keep, gone = self._survivor(k, other)
                lookups.merging(keep, gone)
                self._merge_into(keep, gone)
                used |= {keep, gone}
                self.touched.add(keep)
                merges.append((keep, gone))
            if not merges:
                return
            lookups.merged(merges)
            changed = {j for pair in merges for j in pair}
            for j in changed:
                likelihood.pop(j, None)
            rejected = {pair for pair in rejected if not changed.intersection(pair)}

    def _survivor(self, a: int, b: int) -> tuple[int, int]:
        """Which of two merging stories lives on: one the store already knows, then the larger one."""
        rank = {k: (self.story_keys[k] is not None, len(self.members[k]), -k) for k in (a, b)}
        return (a, b) if rank[a] >= rank[b] else (b, a)

    def _split(self) -> None:
        for k in sorted(k for k in self.touched & self.members.keys()
                        if len(self.members[k]) >= 2 * self.p.split_min and k not in self.base):
            size = len(self.members[k])
            if size < 1.2 * self._split_size.get(k, 0):
                continue  # test again only once the story has grown by a fifth
            self._split_size[k] = size
            ids = sorted(self.members[k])
            side = self._bisect(ids)
            if side is None:
                continue
            first = [i for i, s in zip(ids, side, strict=True) if s]
            second = [i for i, s in zip(ids, side, strict=True) if not s]
            if min(len(first), len(second)) < self.p.split_min:
                continue
            counts, n = Counter(), 0.0
            for i in first:
                counts.update(self.docs[i])
                n += self.tokens[i]
            gain = self._likelihood(counts, n) + self._likelihood(self.tc[k] - counts, self.tn[k] - n) \
                - self._likelihood(self.tc[k], self.tn[k])
            if gain / self.tn[k] < self.p.split_per_token:
                continue
            if len(second) > len(first):
                first, second = second, first  # the larger half keeps the story
            new = self._new(None)
            for i in second:
                self._move(i, new)
            self.touched.add(new)
            self._split_size[k], self._split_size[new] = len(first), len(second)

    def _bisect(self, ids: list[int]) -> np.ndarray | None:
        """Two groups of a story's members: story-local IDF, first principal direction, spherical 2-means.

        With sparse matrices, the centring kept apart (the centred matrix is dense and large): no BLAS call,
        so no thread pool spinning up for a small product."""
        rows = self._rows  # the sweep's screening made its items' rows: reuse them while they hold
        if rows is not None and rows[0] is self.vecs and all(i in rows[1] for i in ids):
            m = rows[2][[rows[1][i] for i in ids]]
        else:
            vecs = [self.vecs[i] for i in ids]
            terms = {t: j for j, t in enumerate(dict.fromkeys(chain.from_iterable(vecs)))}
            m = sparse.matrix(vecs, terms)
        n = len(ids)
        local_df = np.bincount(m.indices, minlength=m.shape[1])
        columns = np.flatnonzero((local_df >= 2) & (local_df < n))
        if not len(columns):
            return None
        m = m[:, columns].tocsr()
        m = sparse.csr_matrix(m.multiply(np.log(n / local_df[columns].astype(float))))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(1)).ravel())
        norms[norms == 0] = 1.0
        m = sparse.csr_matrix(sparse.diags(1.0 / norms) @ m)
        mt = m.T.tocsr()
        mean = np.asarray(m.mean(0)).ravel()
        matvec = sparse.matvec
        x = self._direction(m, mt, mean, np.full(len(columns), 1.0 / sqrt(len(columns))))
        if x is None:
            # The even start was square to every way the members differ (it happens when they fall into
            # groups of the same shape): start from the member farthest from their mean.
            far = int(np.argmax(np.asarray(m.multiply(m).sum(1)).ravel() - 2 * matvec(m, mean)))
            start = m[far].toarray().ravel() - mean
            length = sqrt(start @ start)
            x = self._direction(m, mt, mean, start / length) if length > 0 else None
            if x is None:
                return None
        side = (matvec(m, x) - mean @ x) > 0
        for _ in range(10):
            if side.all() or not side.any():
                return None
            c1, c2 = matvec(mt, side.astype(float)), matvec(mt, (~side).astype(float))
            c1 /= sqrt(c1 @ c1) or 1.0
            c2 /= sqrt(c2 @ c2) or 1.0
            moved = matvec(m, c1) >= matvec(m, c2)
            if (moved == side).all():
                break
            side = moved
        return side

    @staticmethod
    def _direction(m: csr_matrix, mt: csr_matrix, mean: np.ndarray, x: np.ndarray) -> np.ndarray | None:
        """Power iteration from x: the direction along which the rows of m (unit vectors), centred, differ most.
        None when they do not differ along x at all: what is left is rounding noise, no direction."""
        matvec = sparse.matvec
        for step in range(30):
            y = matvec(m, x) - mean @ x
            if not step and y @ y <= 1e-18 * len(y):
                return None
            x = matvec(mt, y) - mean * y.sum()
            length = sqrt(x @ x)
            if length == 0:
                return None
            x /= length
        return x

    def _absorb(self) -> None:
        tiny = sorted(k for k in self.touched & self.members.keys()
                      if len(self.members[k]) <= self.p.absorb_size and k not in self.base)
        for k in tiny:
            if k not in self.members:
                continue
            for i in sorted(self.members[k]):
                best, score, _ = self._lookup(self.vecs[i], when=self.when[i], exclude=k, exact=10 ** 9,
                                              floor=self.p.absorb)
                if best is not None and score >= self.p.absorb:
                    self._move(i, best)
                    if k not in self.members:
                        break

    # --- results ------------------------------------------------------------------------------------------

    def labels(self) -> list[int]:
        return list(self.label)

    def stories(self) -> dict[int, list[Hashable]]:
        """Internal story id -> keys of its loaded items."""
        return {k: [self.item_keys[i] for i in sorted(m)] for k, m in self.members.items()}

    def centroid(self, k: int) -> Vector:
        return self.cent[k]


def _merge_query(centroid: Vector) -> Vector:
    """What a story looks its merge partners up by: its strongest terms (the long tail of one-off words costs
    time and barely moves the cosine), as a unit vector."""
    strongest = sorted(centroid.items(), key=_by_weight, reverse=True)[:MERGE_QUERY_TERMS]
    norm = 1.0 / sqrt(sum(a * a for _, a in strongest) or 1.0)
    return {t: a * norm for t, a in strongest if a > 1e-9}


def _note_common_terms(cache, keep: int, gone: int) -> None:
    """Record in `cache.common` the frequent terms two merging stories share: after the merge one story fewer
    holds them, so what was computed from their posting lists must be redone."""
    engine = cache.engine
    cap, index = engine.p.posting_cap, engine.index
    small, large = sorted((engine.cent[keep], engine.cent[gone]), key=len)
    cache.common.update(t for t in small if t in large and len(index[t]) > cap)


class _MergeMatrices:
    """The merge pass's lookups, all at once: for every touched story (a row) against every story (a column),
    the exact cosine numerator (E), the partial one over the query's strongest usable terms (P) and whether the
    story is a candidate at all (shares one of those terms: F), summed in the order `_best` sums them. Each row
    keeps its first DEPTH candidates ranked as `_best` ranks them (by partial cosine; equal ones in story
    order), and its answer: the best exact cosine among the first MERGE_EXACT.

    After a round of merges the survivors' columns are computed again and the absorbed stories' columns
    dropped. A survivor's row, or a row with a term that is no longer too common, is ranked afresh; any other
    row only re-sorts its ranked candidates with the survivors that now beat its last one, unless too few are
    left to be sure of its first MERGE_EXACT."""

    DEPTH = 40

    def __init__(self, engine: StoryClusterer, eligible: list[int]) -> None:
        self.engine = engine
        self.limit = MERGE_EXACT
        self.stories = sorted(engine.cent)
        self.col = {k: c for c, k in enumerate(self.stories)}
        self.names = list(engine.index)
        self.terms = {t: j for j, t in enumerate(self.names)}
        self.width = len(self.terms)
        self.rows_c = sparse.rows([engine.cent[k] for k in self.stories], self.terms)
        self.alive = np.ones(len(self.stories), dtype=bool)
        self.norm = np.array([engine.norm[k] for k in self.stories], dtype=float)
        self.norm[self.norm <= 0.0] = 1.0  # no terms: never a candidate
        self.slot: dict[int, int] = {}  # story -> row
        self.owner: list[int | None] = []
        self.query: list[sparse.Row] = []
        self.top: list[sparse.Row] = []
        self.capped: list[list[str]] = []
        self.common: set[str] = set()
        self.fresh: set[int] = set()  # rows whose query changed since Q was made
        self.C = None  # the centroids as matrices (terms x columns: values, pattern)
        self.changed_since: set[int] = set()  # columns that changed since C was made
        self.E = self.P = np.zeros((0, 0))
        self.F = np.zeros((0, 0), dtype=bool)
        self.ranked = np.zeros((0, self.DEPTH), dtype=np.int64)
        self.best, self.score, self.cut = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
        self._grow(len(eligible))
        for k in sorted(eligible):
            self._new_row(k)
        self._set_queries(list(range(len(eligible))))
        self._compute_rows(list(range(len(eligible))))
        self._queries()

    # rows --------------------------------------------------------------------------------------------------

    def _grow(self, n: int) -> None:
        width, m = len(self.stories), len(self.best)

        def more(a: np.ndarray, fill, dtype=float) -> np.ndarray:
            out = np.full((m + n, *a.shape[1:]), fill, dtype=dtype)
            out[:m] = a
            return out
        self.E = more(self.E.reshape(m, width), 0.0)
        self.P = more(self.P.reshape(m, width), 0.0)
        self.F = more(self.F.reshape(m, width), False, bool)
        self.ranked = more(self.ranked, -1, np.int64)
        self.best, self.score = more(self.best, -1, np.int64), more(self.score, 0.0)
        self.cut = more(self.cut, -np.inf)

    def _new_row(self, k: int) -> int:
        r = len(self.owner)
        if r >= len(self.best):
            self._grow(max(8, r // 2))
        self.slot[k] = r
        self.owner.append(k)
        self.query.append(sparse.EMPTY)
        self.top.append(sparse.EMPTY)
        self.capped.append([])
        return r

    def _set_queries(self, rows: list[int]) -> None:
        """These rows' queries: what `_merge_query` makes of their stories' centroids (from their rows, in the
        dicts' order), and the strongest terms `_best` would rank candidates by (those not too common)."""
        if not rows:
            return
        engine = self.engine
        parts = [self.rows_c[self.col[self.owner[r]]] for r in rows]
        lengths = np.array([len(ids) for ids, _ in parts], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        ids = np.concatenate([ids for ids, _ in parts])
        vals = np.concatenate([v for _, v in parts])
        row_of = np.repeat(np.arange(len(rows)), lengths)
        order = np.lexsort((np.arange(len(ids)), -vals, row_of))  # each row's values, highest first, stably
        place = np.arange(len(ids)) - starts[row_of[order]]
        order = order[place < MERGE_QUERY_TERMS]
        row_of, ids, vals = row_of[order], ids[order], vals[order]
        bounds = np.searchsorted(row_of, np.arange(len(rows) + 1)).tolist()
        flat = vals.tolist()
        norms = []
        for a, b in zip(bounds, bounds[1:], strict=False):  # summed as `_merge_query` sums them
            part = flat[a:b]
            norms.append(1.0 / sqrt(sum(map(mul, part, part)) or 1.0))
        keep = vals > 1e-9
        row_of, ids, vals = row_of[keep], ids[keep], vals[keep] * np.array(norms)[row_of[keep]]
        bounds = np.searchsorted(row_of, np.arange(len(rows) + 1))
        # `_best` ranks candidates by each query's first terms, skipping the too common
        first = np.arange(len(ids)) - bounds[row_of] < engine.p.candidate_terms
        cap, index, names = engine.p.posting_cap, engine.index, self.names
        firsts = np.unique(ids[first])
        shared = np.array([len(index.get(names[t], ())) for t in firsts.tolist()], dtype=np.int64)
        dense = np.array([names[t][0] == DENSE for t in firsts.tolist()], dtype=bool)
        where = np.searchsorted(firsts, ids)
        where[~first] = 0
        used = first & (shared[where] > 0) & ((shared[where] <= cap) | dense[where])
        capped = first & (shared[where] > cap) & ~dense[where]
        bounds = bounds.tolist()
        for n, r in enumerate(rows):
            a, b = bounds[n], bounds[n + 1]
            self.query[r] = (ids[a:b], vals[a:b])
            self.top[r] = (ids[a:b][used[a:b]], vals[a:b][used[a:b]])
            self.capped[r] = [names[t] for t in ids[a:b][capped[a:b]].tolist()]
            self.fresh.add(r)

    def _queries(self) -> None:
        """All rows' queries as matrices, for the survivors' columns; rows whose query changes later are
        `fresh` until these are made again."""
        self.queried = len(self.query)
        self.QT = sparse.csr(self.query + self.top, self.width)
        self.Tp = sparse.csr(self.top, self.width, pattern=True)
        self.fresh = set()

    def _centroids(self, cols: list[int] | None = None) -> tuple[csr_matrix, csr_matrix]:
        """The centroids of these columns (None: all) as terms x columns, values and pattern."""
        rows_c = self.rows_c if cols is None else [self.rows_c[c] for c in cols]
        centroids = sparse.csr(rows_c, self.width).T.tocsr()
        pattern = centroids.copy()
        pattern.data[:] = 1.0
        return centroids, pattern

    def _compute_rows(self, rows: list[int]) -> None:
        """Rows afresh against every column, then ranked. The centroid matrix is made again only once many
        columns have changed since it was made; until then, those columns are computed on their own."""
        if not rows:
            return
        if self.C is None or len(self.changed_since) > max(16, len(self.stories) // 16):
            self.C, self.changed_since = self._centroids(), set()
        at = np.array(rows, dtype=np.int64)
        self._columns(at, None, *self.C)
        if self.changed_since:
            cols = sorted(self.changed_since)
            self._columns(at, np.array(cols, dtype=np.int64), *self._centroids(cols))
        self._rank(at)

    def _columns(self, rows: np.ndarray, cols: np.ndarray | None, centroids, pattern) -> None:
        """E, P and F at these rows and columns (None: all), from the centroids' matrices (terms x columns)."""
        picked = rows.tolist()
        query = sparse.csr([self.query[r] for r in picked], self.width)
        top = sparse.csr([self.top[r] for r in picked], self.width)
        top_pattern = sparse.csr([self.top[r] for r in picked], self.width, pattern=True)
        at = rows if cols is None else np.ix_(rows, cols)
        self.E[at] = sparse.dense(query @ centroids)
        self.P[at] = sparse.dense(top @ centroids)
        self.F[at] = sparse.dense(top_pattern @ pattern) > 0

    def _ratio(self, rows: np.ndarray):
        def ratio(columns: np.ndarray) -> np.ndarray:
            safe = np.maximum(columns, 0)
            return self.P[rows[:, None], safe] / self.norm[safe]
        return ratio

    def _rank(self, rows: np.ndarray) -> None:
        """Rank these rows' candidates afresh."""
        if not len(rows):
            return
        found = self.F[rows]
        found[:, ~self.alive] = False
        for n, r in enumerate(rows.tolist()):
            found[n, self.col[self.owner[r]]] = False  # a story is not its own partner
        self.F[rows] = found
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(found, self.P[rows] / self.norm, -np.inf)
        self.ranked[rows], self.cut[rows] = sparse.rank(ratio, self.DEPTH)
        self._pick(rows)

    def _pick(self, rows: np.ndarray) -> None:
        ranked = self.ranked[rows]
        exact = self.E[rows[:, None], np.maximum(ranked[:, :self.limit], 0)]
        best, score, unsure = sparse.pick(ranked, self.cut[rows], exact, self.norm, self.limit)
        self.best[rows], self.score[rows] = best, score
        for r in rows[unsure].tolist():
            self._pick_ties(r)

    def _pick_ties(self, r: int) -> None:
        """A row with fewer ranked candidates than it scores, the rest tied at its cut: `_best` scores the
        tied ones first in story order."""
        ranked = self.ranked[r][self.ranked[r] >= 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.F[r], self.P[r] / self.norm, -np.inf)
        tied = np.flatnonzero(ratio == self.cut[r])[:self.limit - len(ranked)]
        chosen = np.concatenate([ranked, tied])
        d = self.E[r, chosen]
        ok = d > 0.0
        if not ok.any():
            self.best[r], self.score[r] = -1, -np.inf
            return
        score = d[ok] / self.norm[chosen[ok]]
        top = score.max()
        self.best[r], self.score[r] = int(chosen[ok][score == top].min()), float(top)

    def _rerank(self, live: np.ndarray, changed: np.ndarray, dropped: np.ndarray) -> None:
        """Rows whose queries did not change, after a round: take in the survivors that now beat their cut."""
        ranked, cut = self.ranked[live], self.cut[live]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.F[np.ix_(live, changed)], self.P[np.ix_(live, changed)] / self.norm[changed],
                             -np.inf)
        touched = np.zeros(len(self.stories) + 1, dtype=bool)  # the last one stands for padding (-1)
        touched[changed] = touched[dropped] = True
        moved = touched[ranked].any(1) | (ratio > cut[:, None]).any(1)
        rows = live[moved]
        if not len(rows):
            return
        new, new_cut = sparse.rerank(ranked[moved], cut[moved], self._ratio(rows), dropped, changed, ratio[moved],
                                     len(self.stories))
        self.ranked[rows], self.cut[rows] = new, new_cut
        short = ((new >= 0).sum(1) < self.limit) & (new_cut > -np.inf)
        self._rank(rows[short])
        self._pick(rows[~short])

    # the interface `_merge` uses ----------------------------------------------------------------------------

    def all_closest(self, stories: list[int]) -> dict[int, tuple[int, float]]:
        """Each story's closest story (not one the store holds dormant) and its cosine, where it has one."""
        for k in stories:
            if k not in self.slot:
                self.closest(k)
        rows = np.array([self.slot[k] for k in stories], dtype=np.int64)
        best = self.best[rows]
        has = best >= 0
        partners = np.array(self.stories, dtype=np.int64)[best[has]].tolist()
        owners = np.array(stories, dtype=np.int64)[has].tolist()
        base = self.engine.base
        return {k: (j, x) for k, j, x in zip(owners, partners, self.score[rows][has].tolist(), strict=True)
                if j not in base}

    def closest(self, k: int) -> tuple[int | None, float]:
        r = self.slot.get(k)
        if r is None:  # a story that became touched by taking a merge
            r = self._new_row(k)
            self._set_queries([r])
            self._compute_rows([r])
        c = int(self.best[r])
        return (None, 0.0) if c < 0 else (self.stories[c], float(self.score[r]))

    def merging(self, keep: int, gone: int) -> None:
        _note_common_terms(self, keep, gone)

    def merged(self, merges: list[tuple[int, int]]) -> None:
        engine = self.engine
        keeps = [k for k, _ in merges]
        changed = np.array(sorted(self.col[k] for k in keeps), dtype=np.int64)
        dropped = np.array(sorted(self.col[g] for _, g in merges), dtype=np.int64)
        for _, g in merges:
            c = self.col[g]
            self.alive[c] = False
            self.rows_c[c] = sparse.EMPTY
            r = self.slot.pop(g, None)
            if r is not None:
                self.owner[r] = None
                self.best[r] = -1
                self.fresh.discard(r)
        for k in keeps:
            c = self.col[k]
            self.rows_c[c] = sparse.grown(self.rows_c[c], engine.cent[k], self.terms)
            self.norm[c] = engine.norm[k] if engine.norm[k] > 0.0 else 1.0
        cap, index = engine.p.posting_cap, engine.index
        uncapped = {t for t in self.common if len(index.get(t, ())) <= cap}
        self.common -= uncapped
        redo = {self.slot[k] for k in keeps if k in self.slot}
        if uncapped:
            redo.update(r for r, k in enumerate(self.owner) if k is not None and uncapped.intersection(self.capped[r]))
        self._set_queries(sorted(redo))
        # The survivors' columns, in every row (with the queries as they were when Q was made; rows whose
        # query changed since are computed on their own).
        self.changed_since.update(changed.tolist())
        survivors, pattern = self._centroids(changed.tolist())
        n = self.queried
        both = sparse.dense(self.QT @ survivors)  # the queries, then their strongest terms
        self.E[:n, changed], self.P[:n, changed] = both[:n], both[n:]
        self.F[:n, changed] = sparse.dense(self.Tp @ pattern) > 0
        stale = sorted(self.fresh - redo)
        if stale:
            self._columns(np.array(stale, dtype=np.int64), changed, survivors, pattern)
        self.F[:, dropped] = False
        for k in keeps:
            if k in self.slot:
                self.F[self.slot[k], self.col[k]] = False
        # Rows ranked afresh, and rows that only take in the survivors that now beat their last candidate.
        redo_rows = sorted(redo)
        self._compute_rows(redo_rows)
        live = np.array([r for r, k in enumerate(self.owner) if k is not None and r not in redo], dtype=np.int64)
        if len(live):
            self._rerank(live, changed, dropped)
        if len(self.fresh) > max(16, len(self.owner) // 8):
            self._queries()


class _Stays:
    """Which items of the maintenance sweep certainly stay, without looking them up.

    An item moves only to a story whose cosine with it beats its own story's cosine without it (or reaches the
    join threshold, for an item alone in its story). The dot products of a chunk of items with every story are
    computed as matrices (with the stories as they are when the chunk starts: as they were at the start of the
    sweep, corrected by the items moved since), and kept up to date as items move. An item none of whose other
    stories reaches its threshold (by a margin for rounding) stays: `_best` would not move it either."""

    MARGIN = 1e-9

    def __init__(self, engine: StoryClusterer, items: list[int]) -> None:
        self.engine = engine
        self.items = items
        self.position = {i: n for n, i in enumerate(items)}
        vecs = [engine.vecs[i] for i in items]
        self.terms = {t: j for j, t in enumerate(dict.fromkeys(chain(engine.index, chain.from_iterable(vecs))))}
        self.X = sparse.matrix(vecs, self.terms)
        engine._rows = (engine.vecs, self.position, self.X)
        self.stories = sorted(engine.cent)
        self.col = {k: c for c, k in enumerate(self.stories)}
        self.norm = np.array([engine.norm[k] for k in self.stories], dtype=float)
        self.gone = np.where(self.norm > 0.0, 0.0, -np.inf)  # a story without terms is nobody's candidate
        self.norm[self.norm <= 0.0] = 1.0
        # rows per chunk: the dot products of a chunk with every story are held as one dense matrix
        self.size = max(64, min(ITEM_CHUNK, MERGE_MATRIX_CELLS // max(len(self.stories), 1)))
        self.start = -self.size - 1
        self.centroids = None
        self.chunk = self.dots = None  # the chunk's rows, and their dot products with the stories
        self.moves: list[tuple[int, int, int]] = []  # (item, from column, to column)

    def _load(self, n: int) -> None:
        engine = self.engine
        if self.centroids is None:
            self.centroids = sparse.matrix([engine.cent[k] for k in self.stories], self.terms).T.tocsr()
        self.start = n - n % self.size
        chunk = self.X[self.start:self.start + self.size]
        dots = sparse.dense(chunk @ self.centroids)
        if self.moves:  # the stories as they are now: the items moved since the start, in and out
            moved = self.X[[self.position[i] for i, _, _ in self.moves]]
            signs = sparse.csr_matrix(
                (np.tile([-1.0, 1.0], len(self.moves)), np.array([c for _, a, b in self.moves for c in (a, b)]),
                 np.arange(0, 2 * len(self.moves) + 1, 2)), shape=(len(self.moves), len(self.stories)))
            change = (signs.T.tocsr() @ moved).T.tocsr()  # terms x stories
            dots += sparse.dense(chunk @ change)
        self.chunk, self.dots = chunk, dots

    def certain(self, i: int, own: int) -> bool:
        """Whether item i certainly stays in story `own`."""
        engine = self.engine
        n = self.position[i]
        if not self.start <= n < self.start + self.size:
            self._load(n)
        dots = self.dots[n - self.start]
        c = self.col[own]
        if len(engine.members[own]) == 1 and own not in engine.base:
            threshold = engine.p.join
        else:  # its own story's cosine without it
            d = float(dots[c])
            left = engine.nsq[own] - 2 * d + 1.0
            if left < 1e-6:
                return False  # too close to call from a dot product rounded differently
            threshold = (d - 1.0) / sqrt(left)
        cosine = dots / self.norm + self.gone
        cosine[c] = -np.inf
        return bool(cosine.max() < threshold - self.MARGIN)

    def moved(self, i: int, frm: int, to: int) -> None:
        """Item i has moved from story `frm` to story `to`."""
        engine = self.engine
        a, b = self.col[frm], self.col[to]
        self.moves.append((i, a, b))
        for c, k in ((a, frm), (b, to)):
            if k in engine.cent and engine.norm[k] > 0.0:
                self.norm[c] = engine.norm[k]
            else:
                self.gone[c] = -np.inf
        n = self.position[i] - self.start + 1  # the rows still to come
        if self.dots is not None and 0 < n < self.dots.shape[0]:
            x = np.zeros(len(self.terms))
            X, r = self.X, self.position[i]
            x[X.indices[X.indptr[r]:X.indptr[r + 1]]] = X.data[X.indptr[r]:X.indptr[r + 1]]
            g = sparse.matvec(self.chunk, x, n)
            self.dots[n:, a] -= g
            self.dots[n:, b] += g


class _Lookups:
    """Each story's closest story (by its strongest terms), kept across the rounds of `_merge`.

    After a round of merges only the survivors' centroids have changed and the absorbed stories are gone, so a
    story's answer can change only if its lookup scored one of them, if a survivor now ranks among the
    candidates it would score, if it had so few candidates that every one was scored, or if a term it skipped
    as too common is shared by few enough stories now. Any other answer is the one a new lookup would give,
    to the bit; those stories are not looked up again."""

    def __init__(self, engine: StoryClusterer) -> None:
        self.engine = engine
        self.found: dict[int, tuple[int | None, float]] = {}
        self.info: dict[int, dict] = {}
        self.scored_by: dict[int, set[int]] = {}  # story -> lookups that scored it exactly
        self.using: dict[str, set[int]] = {}  # term -> lookups that ranked candidates by it
        self.skipping: dict[str, set[int]] = {}  # term -> lookups that skipped it as too common
        self.common: set[str] = set()  # too-common terms that a merge may bring under the cap

    def all_closest(self, stories: list[int]) -> dict[int, tuple[int, float]]:
        """Each story's closest story (not one the store holds dormant) and its cosine, where it has one."""
        base = self.engine.base
        out = {}
        for k in stories:
            best, score = self.closest(k)
            if best is not None and best not in base:
                out[k] = (best, score)
        return out

    def closest(self, k: int) -> tuple[int | None, float]:
        answer = self.found.get(k)
        if answer is None:
            info: dict = {}
            answer = self.engine._best(_merge_query(self.engine.cent[k]), exclude=k, exact=MERGE_EXACT, info=info)
            self.found[k], self.info[k] = answer, info
            for j in info["chosen"]:
                self.scored_by.setdefault(j, set()).add(k)
            for t, _ in info["used"]:
                self.using.setdefault(t, set()).add(k)
            for t in info["capped"]:
                self.skipping.setdefault(t, set()).add(k)
        return answer

    def merging(self, keep: int, gone: int) -> None:
        """Before `gone` moves into `keep`: the terms both hold will be held by one story fewer."""
        _note_common_terms(self, keep, gone)

    def merged(self, merges: list[tuple[int, int]]) -> None:
        engine = self.engine
        keeps, gones = {k for k, _ in merges}, {g for _, g in merges}
        stale = keeps | gones
        for j in keeps | gones:
            stale |= self.scored_by.get(j, set())
        cap, index = engine.p.posting_cap, engine.index
        for t in [t for t in self.common if len(index.get(t, ())) <= cap]:
            stale |= self.skipping.get(t, set())
            self.common.discard(t)
        norm = engine.norm
        for j in keeps:
            centroid = engine.cent[j]
            near: set[int] = set()
            for t in centroid.keys() & self.using.keys():
                near |= self.using[t]
            for k in near - stale:
                info = self.info[k]
                cutoff, candidates = info["cutoff"], info["candidates"]
                if cutoff is None or len(candidates) - len(gones & candidates) + len(keeps) <= MERGE_EXACT:
                    stale.add(k)  # it scores every candidate, or may soon
                    continue
                partial = 0.0  # j's partial cosine, summed as `_best` sums it
                for t, a in info["used"]:
                    x = centroid.get(t)
                    if x is not None:
                        partial = partial + a * x
                if partial / norm[j] >= cutoff:
                    stale.add(k)
        for k in stale:
            self._forget(k)

    def _forget(self, k: int) -> None:
        self.found.pop(k, None)
        info = self.info.pop(k, None)
        if info is None:
            return
        for j in info["chosen"]:
            self.scored_by[j].discard(k)
        for t, _ in info["used"]:
            self.using[t].discard(k)
        for t in info["capped"]:
            self.skipping[t].discard(k)


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
