"""The streaming story clusterer: one item at a time into stories, with a periodic maintenance pass.

Assignment: an item's TF-IDF vector (document frequencies grow one item at a time: nothing peeks at the future)
is compared by cosine with the centroids (sums of member vectors) of the stories that share its strongest terms,
found through an inverted index; it joins the best one above a threshold or starts a story.

Maintenance, using only what has been seen: re-weight every vector with the current IDF; one sweep that moves
an item to a story that fits it better than its own (itself left out); merge mutually closest stories when a
Dirichlet-multinomial likelihood test says one story explains their words about as well as two; split a large
story when the same test strongly prefers its best bisection; fold stories of one or two items into their
nearest story. The same code serves the pipeline and `tidings eval cluster`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from itertools import chain
from dataclasses import dataclass
from math import lgamma, sqrt
from operator import itemgetter

import numpy as np

from tidings import sparse
from tidings.embed import Vector, Vocabulary

__all__ = ["ClusterParams", "StoryClusterer", "Vocabulary", "blend", "dot"]
_by_weight = itemgetter(1)
MERGE_QUERY_TERMS = 64  # a story looks up merge partners by this many of its strongest terms
REASSIGN_EXACT = 8  # candidates scored exactly in the maintenance sweep
MERGE_EXACT = 20  # merge partners scored exactly, after ranking by the partial cosine
MERGE_MATRIX_CELLS = 4_000_000  # largest (touched stories x stories) the merge pass holds as matrices
ITEM_CHUNK = 1024  # items the maintenance sweep scores at once, as matrices


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
            i = self._item(item_key, counts, when)
            self._add_to(k, i, self.vecs[i])
        return k

    # --- assignment ---------------------------------------------------------------------------------------

    def add(self, key: Hashable, counts: dict[str, float], when: float = 0.0, observe: bool = True,
            dense=None) -> int:
        """Place one new item (with its embedding when the clusterer blends one in); returns its story."""
        if observe:
            self.vocab.observe(counts)
        i = self._item(key, counts, when, dense)
        v = self.vecs[i]
        k, score = self._best(v, when=when)
        if k is None or score < self.p.join:
            k = self._new(None)
        self._add_to(k, i, v)
        self.touched.add(k)
        return k

    def closest(self, vector: Vector, when: float | None = None) -> float:
        """The cosine of the story that a vector would join (0 when there is none)."""
        return self._best(vector, when=when)[1]

    def _item(self, key: Hashable, counts: dict[str, float], when: float, dense=None) -> int:
        self.item_keys.append(key)
        self.docs.append(counts)
        self.tokens.append(sum(counts.values()))
        self.dense.append(dense)
        self.vecs.append(self._vector(len(self.docs) - 1))
        self.label.append(-1)
        self.when.append(when)
        return len(self.docs) - 1

    def _vector(self, i: int) -> Vector:
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
                exact: int | None = None, info: dict | None = None) -> tuple[int | None, float, float]:
        """`_best`, and the dot product of v with `own`'s centroid (0 without `own`).

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
                for k, x in postings.items():
                    if k in partial:
                        partial[k] += a * x
                    else:
                        partial[k] = a * x
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
        ratio = {k: x / norm[k] for k, x in partial.items()}
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
        for k in ranked:
            if k == own:
                continue
            if ratio[k] + slack < best_score:
                break  # no weaker candidate can reach the best score
            d = partial[k]
            if rest:
                get = cent[k].get
                for t, a in rest:
                    x = get(t)
                    if x is not None:
                        d += a * x
            if d <= 0.0:
                continue
            score = d / norm[k]
            if dormant is not None and last[k] < dormant and score < p.revive:
                continue  # dormant, and not a strong enough match to revive it
            if score > best_score or (score == best_score and best is not None and k < best):
                best, best_score = k, score
        return best, best_score, d_own

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
        for term, a in centroid.items():
            self.index.setdefault(term, {})[k] = a

    def _add_to(self, k: int, i: int, v: Vector) -> None:
        centroid, index = self.cent[k], self.index
        d = 0.0
        for term, a in v.items():
            x = centroid.get(term)
            if x is None:
                centroid[term] = a
                index.setdefault(term, {})[k] = a
            else:
                d += a * x
                centroid[term] = index[term][k] = x + a
        self.nsq[k] += 2 * d + (1.0 if v else 0.0)  # |C + v|^2 = |C|^2 + 2 C.v + |v|^2
        self.norm[k] = sqrt(max(self.nsq[k], 0.0))
        self.members[k].add(i)
        tc = self.tc[k]
        get = tc.get
        for term, c in self.docs[i].items():  # tc.update(docs[i]), without its overhead
            tc[term] = c + get(term, 0)
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
        self._reweight()
        self._reassign()
        self._merge()
        self._split()
        self._absorb()
        self.touched.clear()

    def _reweight(self) -> None:
        """Vectors made while the vocabulary was young used immature IDF: make them again."""
        self.vecs = [self._vector(i) for i in range(len(self.docs))]
        self.index = {}
        for k, members in self.members.items():
            centroid = dict(self.base.get(k, {}))
            for i in members:
                for term, a in self.vecs[i].items():
                    centroid[term] = centroid.get(term, 0.0) + a
            self.cent[k] = {}
            self._set_centroid(k, centroid)

    def _reassign(self) -> None:
        scope = sorted(i for k in self.touched if k in self.members for i in self.members[k])
        for i in scope:
            v, k = self.vecs[i], self.label[i]
            best, score, d = self._lookup(v, when=self.when[i], own=k, exact=REASSIGN_EXACT)
            if best is None or best == k:
                continue
            if len(self.members[k]) == 1 and k not in self.base:
                if score < self.p.join:
                    continue
            elif score <= (d - 1.0) / sqrt(max(self.nsq[k] - 2 * d + 1.0, 1e-9)):
                continue
            self._move(i, best)

    def _likelihood(self, counts: Counter, n: float) -> float:
        """log Dirichlet-multinomial marginal likelihood of a story's words."""
        b, vocabulary = self.p.beta, len(self.vocab.df)
        lb = lgamma(b)
        return sum(lgamma(x + b) - lb for x in counts.values() if x > 0) \
            - (lgamma(n + vocabulary * b) - lgamma(vocabulary * b))

    def _merge_gain(self, k: int, other: int, likelihood: dict[int, float]) -> float:
        """How much the likelihood gains (loses, when negative) when two stories become one.

        Words only one of them has contribute alike to both sides, so the gain is summed over the shared words
        alone. That sum is rounded differently from `_likelihood(merged) - _likelihood(k) - _likelihood(other)`
        (by far less than 1e-9 per token), so when it is that close to the threshold, the gain is taken the
        long way, as the three likelihoods (kept in `likelihood` while the stories do not change)."""
        b, vocabulary = self.p.beta, len(self.vocab.df)
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
        b, vocabulary = self.p.beta, len(self.vocab.df)
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
        if len(eligible) * len(self.cent) <= MERGE_MATRIX_CELLS:
            lookups: _MergeMatrices | _Lookups = _MergeMatrices(self, eligible)
        else:
            lookups = _Lookups(self)
        likelihood: dict[int, float] = {}  # story -> its words' likelihood, while it does not change
        rejected: set[tuple[int, int]] = set()  # pairs the likelihood test turned down, while neither changes
        while True:
            closest = {}
            for k in sorted(self.touched & self.cent.keys()):
                if self.nsq[k] <= 1e-9 or k in self.base:
                    continue
                best, score = lookups.closest(k)
                if best is not None and best not in self.base:
                    closest[k] = (best, score)
            used: set[int] = set()
            merges: list[tuple[int, int]] = []
            for k, (other, score) in sorted(closest.items(), key=lambda kv: (-kv[1][1], kv[0])):
                if score < self.p.merge_floor:
                    break
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
        """Two groups of a story's members: story-local IDF, first principal direction, spherical 2-means."""
        vecs = [self.vecs[i] for i in ids]
        n = len(vecs)
        local_df = Counter(t for v in vecs for t in v)
        terms = sorted(t for t, x in local_df.items() if 2 <= x < n)
        if not terms:
            return None
        column = {t: j for j, t in enumerate(terms)}
        m = np.zeros((n, len(terms)))
        for r, v in enumerate(vecs):
            for t, a in v.items():
                j = column.get(t)
                if j is not None:
                    m[r, j] = a
        m *= np.log(n / np.array([local_df[t] for t in terms], dtype=float))
        norms = np.linalg.norm(m, axis=1)
        norms[norms == 0] = 1.0
        m /= norms[:, None]
        centred = m - m.mean(0)
        x = np.full(len(terms), 1.0 / sqrt(len(terms)))
        for _ in range(30):  # power iteration: the direction along which members differ most
            x = centred.T @ (centred @ x)
            length = np.linalg.norm(x)
            if length == 0:
                return None
            x /= length
        side = (centred @ x) > 0
        for _ in range(10):
            if side.all() or not side.any():
                return None
            c1, c2 = m[side].sum(0), m[~side].sum(0)
            c1 /= np.linalg.norm(c1) or 1.0
            c2 /= np.linalg.norm(c2) or 1.0
            moved = (m @ c1) >= (m @ c2)
            if (moved == side).all():
                break
            side = moved
        return side

    def _absorb(self) -> None:
        tiny = sorted(k for k in self.touched & self.members.keys()
                      if len(self.members[k]) <= self.p.absorb_size and k not in self.base)
        lookups = _ItemLookups(self, [i for k in tiny for i in sorted(self.members[k])], None)
        for k in tiny:
            if k not in self.members:
                continue
            for i in sorted(self.members[k]):
                best, score, _ = lookups.best(i, exclude=k)
                if best is not None and score >= self.p.absorb:
                    lookups.move(i, best)
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


class _MergeMatrices:
    """The merge pass's lookups, all at once: for every touched story (a row) against every story (a column),
    the exact cosine numerator (E), the partial one over the query's strongest usable terms (P) and whether the
    story is a candidate at all (shares one of those terms: F). `sparse.choose` then does row by row what
    `_best` does for one lookup; the numbers are summed in the same order as `_best` sums them.

    After a round of merges, the survivors' columns and rows are computed again and the absorbed stories'
    columns dropped; a row is chosen again only if its choice may change: it scored a story that changed, a
    survivor now ranks among its first candidates, it keeps every candidate and so takes a new one, or a term
    it skipped as too common is shared by few enough stories now."""

    def __init__(self, engine: StoryClusterer, eligible: list[int]) -> None:
        self.engine = engine
        self.limit = MERGE_EXACT
        self.stories = sorted(engine.cent)
        self.col = {k: c for c, k in enumerate(self.stories)}
        self.names = list(engine.index)
        self.terms = {t: j for j, t in enumerate(self.names)}
        self.width = len(self.terms)
        self.rows_c = [sparse.row(engine.cent[k], self.terms) for k in self.stories]
        self.alive = np.ones(len(self.stories), dtype=bool)
        self.norm = np.array([engine.norm[k] for k in self.stories], dtype=float)
        self.norm[self.norm <= 0.0] = 1.0  # no terms: never a candidate
        self.slot: dict[int, int] = {}  # story -> row
        self.owner: list[int | None] = []
        self.query: list[sparse.Row] = []
        self.top: list[sparse.Row] = []
        self.capped: list[list[str]] = []
        self.common: set[str] = set()
        n, width = len(eligible), len(self.stories)
        self.E, self.P = np.zeros((0, width)), np.zeros((0, width))
        self.F = np.zeros((0, width), dtype=bool)
        self.chosen = np.zeros((0, self.limit), dtype=np.int64)  # the columns each row scored
        self.best, self.score = np.zeros(0, dtype=np.int64), np.zeros(0)
        self.cutoff = np.zeros(0)
        self._grow(n)
        for k in sorted(eligible):
            self._set_query(self._new_row(k), k)
        self._compute_rows(list(range(n)))
        self._queries()

    # rows --------------------------------------------------------------------------------------------------

    def _grow(self, n: int) -> None:
        width = len(self.stories)
        self.E = np.vstack([self.E, np.zeros((n, width))])
        self.P = np.vstack([self.P, np.zeros((n, width))])
        self.F = np.vstack([self.F, np.zeros((n, width), dtype=bool)])
        self.chosen = np.vstack([self.chosen, np.full((n, self.limit), -1, dtype=np.int64)])
        self.best = np.concatenate([self.best, np.full(n, -1, dtype=np.int64)])
        self.score = np.concatenate([self.score, np.zeros(n)])
        self.cutoff = np.concatenate([self.cutoff, np.full(n, -np.inf)])

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

    def _set_query(self, r: int, k: int) -> None:
        """Row r's query: what `_merge_query` makes of story k's centroid, from its row (in the dict's order)."""
        engine = self.engine
        cap, index, names = engine.p.posting_cap, engine.index, self.names
        ids, vals = self.rows_c[self.col[k]]
        order = np.argsort(-vals, kind="stable")[:MERGE_QUERY_TERMS]  # = sorted(..., reverse=True)
        strongest = vals[order]
        norm = 1.0 / sqrt(sum(a * a for a in strongest.tolist()) or 1.0)
        keep = strongest > 1e-9
        ids, vals = ids[order][keep], strongest[keep] * norm
        self.query[r] = (ids, vals)
        # `_best` ranks candidates by the query's strongest terms (its first ones), skipping the too common
        used, capped = [], []
        for j, term in enumerate(names[c] for c in ids[:engine.p.candidate_terms].tolist()):
            postings = index.get(term)
            if not postings:
                continue
            if len(postings) <= cap or term[0] == DENSE:
                used.append(j)
            else:
                capped.append(term)
        self.top[r] = (ids[used], vals[used])
        self.capped[r] = capped

    def _queries(self) -> None:
        """All rows' queries as matrices, for the survivors' columns (a row whose query changes in a round is
        computed afresh on its own, and these are made again after it)."""
        self.Q = sparse.csr(self.query, self.width)
        self.T = sparse.csr(self.top, self.width)
        self.Tp = sparse.csr(self.top, self.width, pattern=True)

    def _compute_rows(self, rows: list[int]) -> None:
        if not rows:
            return
        centroids = sparse.csr(self.rows_c, self.width).T.tocsr()
        pattern = centroids.copy()
        pattern.data[:] = 1.0
        query = sparse.csr([self.query[r] for r in rows], self.width)
        top = sparse.csr([self.top[r] for r in rows], self.width)
        self.E[rows] = sparse.dense(query @ centroids)
        self.P[rows] = sparse.dense(top @ centroids)
        found = sparse.dense(sparse.csr([self.top[r] for r in rows], self.width, pattern=True) @ pattern) > 0
        found[:, ~self.alive] = False
        self.F[rows] = found
        for r in rows:
            self.F[r, self.col[self.owner[r]]] = False  # a story is not its own partner
        self._choose(np.array(rows, dtype=np.int64))

    def _choose(self, rows: np.ndarray) -> None:
        if not len(rows):
            return
        best, score, chosen, cutoff = sparse.choose(self.P, self.F, self.E, self.norm, self.limit, rows)
        self.best[rows], self.score[rows], self.chosen[rows], self.cutoff[rows] = best, score, chosen, cutoff

    # the interface `_merge` uses ----------------------------------------------------------------------------

    def closest(self, k: int) -> tuple[int | None, float]:
        r = self.slot.get(k)
        if r is None:  # a story that became touched by taking a merge
            r = self._new_row(k)
            self._set_query(r, k)
            self._compute_rows([r])
            self._queries()
        c = int(self.best[r])
        return (None, 0.0) if c < 0 else (self.stories[c], float(self.score[r]))

    def merging(self, keep: int, gone: int) -> None:
        engine = self.engine
        cap, index = engine.p.posting_cap, engine.index
        small, large = sorted((engine.cent[keep], engine.cent[gone]), key=len)
        self.common.update(t for t in small if t in large and len(index[t]) > cap)

    def merged(self, merges: list[tuple[int, int]]) -> None:
        engine = self.engine
        keeps = [k for k, _ in merges]
        changed = sorted(self.col[k] for k in keeps)
        dropped = sorted(self.col[g] for _, g in merges)
        for _, g in merges:
            c = self.col[g]
            self.alive[c] = False
            self.rows_c[c] = sparse.EMPTY
            r = self.slot.pop(g, None)
            if r is not None:
                self.owner[r] = None
                self.query[r] = self.top[r] = sparse.EMPTY
                self.best[r] = -1
        for k in keeps:
            c = self.col[k]
            self.rows_c[c] = sparse.row(engine.cent[k], self.terms)
            self.norm[c] = engine.norm[k] if engine.norm[k] > 0.0 else 1.0
        cap, index = engine.p.posting_cap, engine.index
        uncapped = {t for t in self.common if len(index.get(t, ())) <= cap}
        self.common -= uncapped
        redo = {self.slot[k] for k in keeps if k in self.slot}
        if uncapped:
            redo.update(r for r, k in enumerate(self.owner) if k is not None and uncapped.intersection(self.capped[r]))
        for r in redo:
            self._set_query(r, self.owner[r])
        # The survivors' columns, in every row.
        live = np.array([r for r, k in enumerate(self.owner) if k is not None], dtype=np.int64)
        cols = np.array(changed, dtype=np.int64)
        survivors = sparse.csr([self.rows_c[c] for c in changed], self.width).T.tocsr()
        pattern = survivors.copy()
        pattern.data[:] = 1.0
        n = self.Q.shape[0]
        self.E[:n, cols] = sparse.dense(self.Q @ survivors)
        self.P[:n, cols] = sparse.dense(self.T @ survivors)
        self.F[:n, cols] = sparse.dense(self.Tp @ pattern) > 0
        self.F[:, dropped] = False
        for k in keeps:
            if k in self.slot:
                self.F[self.slot[k], self.col[k]] = False
        # Rows whose choice may change.
        touched_cols = np.array(changed + dropped, dtype=np.int64)
        F, cutoff = self.F[live], self.cutoff[live]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = self.P[np.ix_(live, cols)] / self.norm[cols]
        may_change = np.isin(self.chosen[live], touched_cols).any(1) \
            | (F[:, cols] & (ratio >= cutoff[:, None])).any(1) \
            | ((cutoff > -np.inf) & (F.sum(1) <= self.limit))
        again = np.zeros(len(self.owner), dtype=bool)
        again[live[may_change]] = True
        redo_rows = sorted(redo)
        again[redo_rows] = False
        self._compute_rows(redo_rows)
        self._choose(np.flatnonzero(again))
        if redo_rows:
            self._queries()


class _ItemLookups:
    """`_best` for a run of items (the maintenance sweep; the members of tiny stories), as matrices: each item
    (a row) against every story (a column), the exact cosine numerator (E), the partial one over the item's
    strongest usable terms (P) and whether the story is a candidate (shares one of those terms: F).

    The items are taken a chunk at a time, against the centroids as they are then. When an item moves, the
    two stories' columns change by that item's vector, so for the other rows of the chunk they change by the
    products of the rows with it (G, GP and GF: the chunk's item-by-item products, computed with the chunk).
    An item whose strongest terms became too common, or stopped being so, since its chunk was computed is looked
    up by `_best` itself. Lookups and moves must be asked for in the order of `items`, or all in one chunk."""

    def __init__(self, engine: StoryClusterer, items: list[int], limit: int | None) -> None:
        self.engine = engine
        self.items = items
        self.limit = limit  # candidates scored exactly (None: all)
        self.chunk = ITEM_CHUNK if limit is not None else max(len(items), 1)
        self.python = len(items) * len(engine.cent) > 2 * MERGE_MATRIX_CELLS and limit is None
        self.stories = sorted(engine.cent)
        self.col = {k: c for c, k in enumerate(self.stories)}
        self.terms: dict[str, int] = {t: j for j, t in enumerate(engine.index)}
        self.rows_c: list[sparse.Row | None] = [None] * len(self.stories)
        self.alive = np.ones(len(self.stories), dtype=bool)
        self.norm = np.array([engine.norm[k] for k in self.stories], dtype=float)
        self.nsq = np.array([engine.nsq[k] for k in self.stories], dtype=float)
        self.last = np.array([engine.last[k] for k in self.stories], dtype=float)
        self.position = {i: n for n, i in enumerate(items)}
        self.start = -self.chunk - 1  # first position of the chunk loaded (none yet)
        self.flipped: set[str] = set()  # terms that crossed the posting cap since the chunk was loaded

    def _load(self, n: int) -> None:
        engine, terms = self.engine, self.terms
        self.start = n - n % self.chunk
        items = self.items[self.start:self.start + self.chunk]
        self.slot = {i: r for r, i in enumerate(items)}
        for term in (t for i in items for t in engine.vecs[i] if t not in terms):
            terms[term] = len(terms)
        width = len(terms)
        cap, index, p = engine.p.posting_cap, engine.index, engine.p
        rows, tops, self.strongest = [], [], []
        for i in items:
            v = engine.vecs[i]
            top = sorted(v.items(), key=_by_weight, reverse=True)[:p.candidate_terms] \
                if len(v) > p.candidate_terms else list(v.items())
            used = {}
            for t, a in top:
                postings = index.get(t)
                if postings and (len(postings) <= cap or t[0] == DENSE):
                    used[t] = a
            rows.append(sparse.row(v, terms))
            tops.append(sparse.row(used, terms))
            self.strongest.append({t for t, _ in top})
        for c, k in enumerate(self.stories):
            if self.rows_c[c] is None:
                self.rows_c[c] = sparse.row(engine.cent[k], terms) if self.alive[c] else sparse.EMPTY
        centroids = sparse.csr(self.rows_c, width).T.tocsr()
        pattern = centroids.copy()
        pattern.data[:] = 1.0
        X, T, Tp = sparse.csr(rows, width), sparse.csr(tops, width), sparse.csr(tops, width, pattern=True)
        Xp = X.copy()
        Xp.data[:] = 1.0
        self.E = sparse.dense(X @ centroids)
        self.P = sparse.dense(T @ centroids)
        self.F = sparse.dense(Tp @ pattern) > 0
        self.F[:, ~self.alive] = False
        XT = X.T.tocsr()
        self.G = sparse.dense(X @ XT)
        self.GP = sparse.dense(T @ XT)
        self.GF = sparse.dense(Tp @ Xp.T.tocsr()) > 0
        self.flipped = set()

    def best(self, i: int, own: int | None = None, exclude: int | None = None
             ) -> tuple[int | None, float, float]:
        """What `_best(vecs[i], when[i], own=own, exclude=exclude, exact=limit)` answers, and the exact
        cosine numerator with `own`'s centroid."""
        engine = self.engine
        n = self.position[i]
        if self.python or not self.start <= n < self.start + self.chunk:
            if self.python:
                v = engine.vecs[i]
                best, score = engine._best(v, when=engine.when[i], own=own, exclude=exclude,
                                           exact=self.limit or 10 ** 9)
                return best, score, dot(v, engine.cent[own]) if own is not None else 0.0
            self._load(n)
        r = self.slot[i]
        if self.flipped and not self.flipped.isdisjoint(self.strongest[r]):
            v = engine.vecs[i]
            best, score = engine._best(v, when=engine.when[i], own=own, exclude=exclude, exact=self.limit or 10 ** 9)
            return best, score, dot(v, engine.cent[own]) if own is not None else 0.0
        E, norm = self.E[r], self.norm
        cand = np.flatnonzero(self.F[r])
        if exclude is not None:
            cand = cand[cand != self.col[exclude]]
        own_c = self.col[own] if own is not None else -1
        d_own = float(E[own_c]) if own is not None else 0.0
        if not len(cand):
            return None, 0.0, d_own
        if self.limit is not None and len(cand) > self.limit:
            ratio = self.P[r, cand] / norm[cand]
            chosen = cand[np.argsort(-ratio, kind="stable")[:self.limit]]  # equal ratios: in story order
        else:
            chosen = cand
        best_c, best_score = -1, 0.0
        if own is not None and self.F[r, own_c]:
            rest = self.nsq[own_c] - 2 * d_own + 1.0
            if rest > 1e-9 and (score := (d_own - 1.0) / sqrt(rest)) > 0.0:
                best_c, best_score = own_c, score
            chosen = chosen[chosen != own_c]
        d = E[chosen]
        ok = d > 0.0
        chosen, d = chosen[ok], d[ok]
        score = d / norm[chosen]
        if engine.window is not None:
            awake = (self.last[chosen] >= engine.when[i] - engine.window) | (score >= engine.p.revive)
            chosen, score = chosen[awake], score[awake]
        if len(chosen):
            top = score.max()
            if top > best_score or (top == best_score and best_c >= 0):
                first = int(chosen[score == top].min())
                if top > best_score or first < best_c:
                    best_c, best_score = first, float(top)
        return (None, 0.0, d_own) if best_c < 0 else (self.stories[best_c], best_score, d_own)

    def move(self, i: int, to: int) -> None:
        """Move item i to story `to`, and bring the chunk's rows up to date."""
        engine = self.engine
        frm = engine.label[i]
        cap, index = engine.p.posting_cap, engine.index
        gained = [t for t in engine.vecs[i] if t not in engine.cent[to]]
        lost = list(engine.cent[frm]) if len(engine.members[frm]) == 1 and frm not in engine.base else []
        engine._move(i, to)
        for t in gained:
            if len(index[t]) == cap + 1 and t[0] != DENSE:
                self.flipped.add(t)
        for t in lost:
            if len(index.get(t, ())) == cap and t[0] != DENSE:
                self.flipped.add(t)
        a, b = self.col[frm], self.col[to]
        for c, k in ((a, frm), (b, to)):
            self.rows_c[c] = None  # made again with the next chunk
            if k in engine.cent:
                self.norm[c], self.nsq[c], self.last[c] = engine.norm[k], engine.nsq[k], engine.last[k]
            else:
                self.alive[c] = False
        if self.python or not self.start <= self.position[i] < self.start + self.chunk:
            return
        r = self.slot[i]
        g, gp = self.G[:, r], self.GP[:, r]
        self.E[:, a] -= g
        self.E[:, b] += g
        self.P[:, a] -= gp
        self.P[:, b] += gp
        self.F[:, b] |= self.GF[:, r]
        if not self.alive[a]:
            self.F[:, a] = False


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
        engine = self.engine
        cap, index = engine.p.posting_cap, engine.index
        small, large = sorted((engine.cent[keep], engine.cent[gone]), key=len)
        self.common.update(t for t in small if t in large and len(index[t]) > cap)

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
