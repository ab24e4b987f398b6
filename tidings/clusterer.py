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
from dataclasses import dataclass
from math import lgamma, sqrt
from operator import itemgetter

import numpy as np

from tidings.embed import Vector, Vocabulary

__all__ = ["ClusterParams", "StoryClusterer", "Vocabulary", "blend", "dot"]
_by_weight = itemgetter(1)
MERGE_QUERY_TERMS = 64  # a story looks up merge partners by this many of its strongest terms
REASSIGN_EXACT = 8  # candidates scored exactly in the maintenance sweep
MERGE_EXACT = 20  # merge partners scored exactly, after ranking by the partial cosine


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
        self.nsq: dict[int, float] = {}
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
              exact: int | None = None) -> tuple[int | None, float]:
        """The story closest to `v` by cosine, among candidates from the index; for `own` (v is a member) the
        cosine with v left out. Dormant stories need the revival score."""
        top = sorted(v.items(), key=_by_weight, reverse=True)[:self.p.candidate_terms] \
            if len(v) > self.p.candidate_terms else v.items()
        partial: dict[int, float] = {}
        get = partial.get
        for term, a in top:
            postings = self.index.get(term)
            # Embedding dimensions are shared by every story: they rank candidates but have no cap.
            if postings and (len(postings) <= self.p.posting_cap or term[0] == DENSE):
                for k, x in postings.items():
                    partial[k] = get(k, 0.0) + a * x
        if exclude is not None:
            partial.pop(exclude, None)
        if not partial:
            return None, 0.0
        nsq = self.nsq
        limit = exact or self.p.exact
        if len(partial) > limit:
            chosen = sorted(partial, key=lambda k: partial[k] / sqrt(nsq[k]), reverse=True)[:limit]
            if own is not None and own in partial and own not in chosen:
                chosen.append(own)
        else:
            chosen = list(partial)
        best, best_score = None, 0.0
        for k in chosen:
            d = dot(v, self.cent[k])
            if k == own:
                rest = nsq[k] - 2 * d + 1.0
                if rest <= 1e-9:
                    continue
                score = (d - 1.0) / sqrt(rest)
            elif d > 0.0:
                score = d / sqrt(nsq[k])
            else:
                continue
            if when is not None and self.window is not None and k != own \
                    and self.last[k] < when - self.window and score < self.p.revive:
                continue  # dormant, and not a strong enough match to revive it
            if score > best_score or (score == best_score and best is not None and k < best):
                best, best_score = k, score
        return best, best_score

    # --- bookkeeping --------------------------------------------------------------------------------------

    def _new(self, key: Hashable | None) -> int:
        k = self._next
        self._next += 1
        self.story_keys[k] = key
        self.cent[k] = {}
        self.nsq[k] = 0.0
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
        self.members[k].add(i)
        self.tc[k].update(self.docs[i])
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
        self.members[k].discard(i)
        self.tc[k].subtract(self.docs[i])
        self.tn[k] -= self.tokens[i]
        if not self.members[k] and k not in self.base:
            self._drop(k)

    def _move(self, i: int, to: int) -> None:
        self._remove(self.label[i], i, self.vecs[i])
        self._add_to(to, i, self.vecs[i])

    def _drop(self, k: int) -> None:
        for term in self.cent[k]:
            postings = self.index.get(term)
            if postings is not None:
                postings.pop(k, None)
        for table in (self.cent, self.nsq, self.members, self.tc, self.tn, self.last):
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
            best, score = self._best(v, when=self.when[i], own=k, exact=REASSIGN_EXACT)
            if best is None or best == k:
                continue
            if len(self.members[k]) == 1 and k not in self.base:
                if score < self.p.join:
                    continue
            else:
                d = dot(v, self.cent[k])
                if score <= (d - 1.0) / sqrt(max(self.nsq[k] - 2 * d + 1.0, 1e-9)):
                    continue
            self._move(i, best)

    def _likelihood(self, counts: Counter, n: float) -> float:
        """log Dirichlet-multinomial marginal likelihood of a story's words."""
        b, vocabulary = self.p.beta, len(self.vocab.df)
        lb = lgamma(b)
        return sum(lgamma(x + b) - lb for x in counts.values() if x > 0) \
            - (lgamma(n + vocabulary * b) - lgamma(vocabulary * b))

    def _merge(self) -> None:
        while True:
            closest = {}
            for k in sorted(self.touched & self.cent.keys()):
                centroid = self.cent[k]
                if self.nsq[k] <= 1e-9 or k in self.base:
                    continue
                # A story is looked up by its strongest terms: the long tail of one-off words costs time
                # and barely moves the cosine.
                strongest = sorted(centroid.items(), key=_by_weight, reverse=True)[:MERGE_QUERY_TERMS]
                norm = 1.0 / sqrt(sum(a * a for _, a in strongest) or 1.0)
                best, score = self._best({t: a * norm for t, a in strongest if a > 1e-9}, exclude=k,
                                         exact=MERGE_EXACT)
                if best is not None and best not in self.base:
                    closest[k] = (best, score)
            used: set[int] = set()
            merged = False
            for k, (other, score) in sorted(closest.items(), key=lambda kv: (-kv[1][1], kv[0])):
                if score < self.p.merge_floor:
                    break
                if k in used or other in used or closest.get(other, (None,))[0] != k:
                    continue
                n = self.tn[k] + self.tn[other]
                gain = self._likelihood(self.tc[k] + self.tc[other], n) \
                    - self._likelihood(self.tc[k], self.tn[k]) - self._likelihood(self.tc[other], self.tn[other])
                if gain / n < -self.p.merge_per_token:
                    continue
                keep, gone = self._survivor(k, other)
                for i in sorted(self.members[gone]):
                    self._move(i, keep)
                used |= {keep, gone}
                self.touched.add(keep)
                merged = True
            if not merged:
                return

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
        for k in sorted(k for k in self.touched & self.members.keys()
                        if len(self.members[k]) <= self.p.absorb_size and k not in self.base):
            if k not in self.members:
                continue
            for i in sorted(self.members[k]):
                best, score = self._best(self.vecs[i], when=self.when[i], exclude=k, exact=10 ** 9)
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
