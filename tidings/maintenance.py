"""The story clusterer's maintenance pass, as matrices over the stories it tidies.

The streaming pass places items one at a time, each against the stories as they were when it came; maintenance
looks again at the stories that took items since the last pass (every story, after a whole stream), with what has
been seen since:

1. weigh their members again with the current IDF (early items were weighed with a young vocabulary);
2. one sweep in item order that moves a member to a story that fits it better than its own (itself left out);
3. merge mutually closest stories, round after round, when a Dirichlet-multinomial likelihood test says one story
   explains their words about as well as two;
4. split a large story when the same test strongly prefers its best bisection;
5. fold the items of stories of one or two items into their nearest story.

An item may move to a story it would have found on arrival (one sharing one of its strongest terms), compared by
the exact cosine of whole centroids. Items are rows of a sparse matrix and stories are sums of rows, so each step
is a few sparse products and array updates instead of loops over items and their words. Dense blocks of (items x
stories) are made a chunk at a time, so memory stays bounded however many items a pass tidies.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import lgamma, sqrt
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from tidings.clusterer import DENSE, pattern, strongest

if TYPE_CHECKING:
    from tidings.clusterer import StoryClusterer

# Largest dense block (rows x stories) a step makes at once. The sweep keeps a block's later rows up to date after
# each move, so smaller blocks cost less per move; a million cells (a thousand rows against a thousand stories)
# spends a tenth less on a pass over the dev sets than four million, with the same moves.
CHUNK_CELLS = 1_000_000
HELD_CELLS = 16_000_000  # largest (touched stories x stories) the merge pass keeps the dot products of


def weigh(engine: StoryClusterer, stories: Sequence[int]) -> None:
    """Make these stories' centroids from their members, weighed with the vocabulary as it is now (and the mass of
    members that are not loaded)."""
    work = _Pass(engine, stories)
    work.write(stories)


def tidy(engine: StoryClusterer) -> None:
    """The maintenance pass over the stories that took items since the last one (`engine.touched`)."""
    touched = sorted(engine.touched & engine.members.keys())
    work = _Pass(engine, touched)
    work.reassign()
    work.merge()
    work.split()
    work.absorb()
    work.write(touched)


class _Pass:
    """The touched stories' members as rows (`X`: weights, `K`: counts), every story as a column of the centroid
    matrix `C` (rows: stories), and each row's story (`lab`, a column)."""

    def __init__(self, engine: StoryClusterer, touched: Sequence[int]) -> None:
        e = self.e = engine
        self.p = e.p
        self.items = sorted(i for k in touched for i in e.members[k])
        docs = [e.docs[i] for i in self.items]
        self.names, self.col = e.names, e.col  # the clusterer's term columns: every term of its items and stories
        self.K, self.X = self._rows(docs)
        self.stories = sorted(e.members)
        self.scol = {k: c for c, k in enumerate(self.stories)}
        m = len(self.stories)
        self.touched = np.zeros(m, dtype=bool)
        self.touched[[self.scol[k] for k in touched]] = True
        self.lab = np.array([self.scol[e.label[i]] for i in self.items], dtype=np.int64)
        self.when = np.array([e.when[i] for i in self.items], dtype=float)
        self.based = np.array([k in e.base for k in self.stories], dtype=bool)
        self.size = np.array([len(e.members[k]) for k in self.stories], dtype=np.int64)
        self.last = e.last[self.stories].astype(float)
        # What does not move with the members: untouched stories' centroids, and the mass of members not loaded.
        held = e.matrix()[self.stories]
        based = np.flatnonzero(self.touched & self.based).tolist()
        base = self._matrix([e.base[self.stories[c]] for c in based])
        self.C0 = sparse.csr_matrix(sparse.diags((~self.touched).astype(float)) @ held
                                    + sparse.csr_matrix((np.ones(len(based)), (based, range(len(based)))),
                                                        shape=(m, len(based))) @ base)
        self._centroids()

    # --- rows ---------------------------------------------------------------------------------------------

    def _matrix(self, vectors: Sequence[dict]) -> sparse.csr_matrix:
        at, ids, weights = self.e._rows(vectors)
        return sparse.csr_matrix((weights, ids, at), shape=(len(vectors), len(self.names)))

    def _rows(self, docs: list[dict]) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """Counts and TF-IDF unit vectors ((1 + ln tf) * idf, as `Vocabulary.vector`), blended with the items'
        embeddings where the clusterer blends them in (see `blend`)."""
        e = self.e
        K = self._matrix(docs)
        vocab = e.vocab
        df = np.array([vocab.df.get(t, 0) for t in self.names], dtype=float)
        idf = np.log((vocab.documents + 1) / (1.0 + df)) + 1.0
        counts = K.data
        weights = np.where(counts >= 1, (1.0 + np.log(np.maximum(counts, 1.0))) * idf[K.indices], 0.0)
        X = sparse.csr_matrix((weights, K.indices, K.indptr), shape=K.shape)
        X.eliminate_zeros()
        X = _unit_rows(X)
        if e.lexical_weight < 1.0:
            X = self._blend(X)
        return K, X

    def _blend(self, X: sparse.csr_matrix) -> sparse.csr_matrix:
        e = self.e
        dense = [e.dense[i] for i in self.items]
        width = max((len(d) for d in dense if d is not None), default=0)
        if not width:
            return X
        w = e.lexical_weight
        has = np.array([d is not None for d in dense], dtype=bool)
        at = np.array(e.columns(f"{DENSE}{j}" for j in range(width)), dtype=np.int64)
        parts = [np.asarray(d, dtype=float) if d is not None else np.zeros(0) for d in dense]
        indptr = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(v) for v in parts], out=indptr[1:])
        values = np.concatenate(parts) * sqrt(1.0 - w)
        indices = np.concatenate([at[:len(v)] for v in parts])
        shape = (X.shape[0], len(self.names))
        embedded = sparse.csr_matrix((values, indices, indptr), shape=shape)
        lexical = sparse.csr_matrix(sparse.diags(np.where(has, sqrt(w), 1.0)) @ X)
        lexical = sparse.csr_matrix((lexical.data, lexical.indices, lexical.indptr), shape=shape)
        return sparse.csr_matrix(lexical + embedded)

    def _assignment(self) -> sparse.csr_matrix:
        """stories x rows: which row is in which story."""
        n = len(self.items)
        return sparse.csr_matrix((np.ones(n), self.lab, np.arange(n + 1)), shape=(n, len(self.stories))).T.tocsr()

    def _centroids(self) -> None:
        self.C = sparse.csr_matrix(self.C0 + self._assignment() @ self.X)
        self._norms()

    def _norms(self) -> None:
        self.nsq = np.asarray(self.C.multiply(self.C).sum(1)).ravel()
        self.norm = np.sqrt(self.nsq)
        # a story without terms is nobody's candidate
        self.reach = np.where(self.norm > 0.0, 0.0, -np.inf)
        self.safe = np.where(self.norm > 0.0, self.norm, 1.0)

    def _cosines(self, dots: np.ndarray, findable: np.ndarray, when: np.ndarray, own: np.ndarray) -> np.ndarray:
        """Cosines of rows with every story, from their dot products and whether they find them: a story the row
        would find (`_found`), not its own, and one quiet longer than the window (dormant) only at the revival
        threshold; -inf for any other."""
        cos = dots / self.safe + self.reach
        cos[~findable] = -np.inf
        if self.e.window is not None:
            cos[(self.last[None, :] < (when - self.e.window)[:, None]) & (cos < self.p.revive)] = -np.inf
        cos[np.arange(len(own)), own] = -np.inf
        return cos

    def _story_terms(self) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Which stories hold each term (terms x stories, ones), and which terms an item may find stories by:
        those held by at most `posting_cap` stories, and embedding dimensions."""
        C = self.C
        usable = np.bincount(C.indices, minlength=len(self.names)) <= self.p.posting_cap
        usable[self.e.dense_cols] = True
        return pattern(C).T.tocsr(), usable

    def _strongest(self, rows: sparse.csr_matrix, usable: np.ndarray) -> sparse.csr_matrix:
        """Each row's strongest usable terms: what an arriving item finds candidate stories by."""
        bounds, terms = strongest(rows.data, rows.indices, rows.indptr, usable[rows.indices], self.p.candidate_terms)
        return sparse.csr_matrix((np.ones(len(terms)), terms, bounds), shape=rows.shape)

    def _found(self, rows: sparse.csr_matrix, terms: tuple[sparse.csr_matrix, np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which stories each row shares one of its strongest usable terms with (see `_story_terms`): the
        stories an item would find on arrival, as (row, story) pairs, row by row, and the rows' bounds among
        them. A story that shares only common words with an item is not one it may move to, however many of them it
        shares."""
        by_term, usable = terms
        shared = sparse.csr_matrix(self._strongest(rows, usable) @ by_term)  # rows x stories
        return np.repeat(np.arange(rows.shape[0]), np.diff(shared.indptr)), shared.indices, shared.indptr

    def _findable(self, rows: int, at: np.ndarray, stories: np.ndarray) -> np.ndarray:
        """The (row, story) pairs of `_found` as a dense block, rows x stories, read column by column."""
        found = np.zeros((rows, len(self.stories)), dtype=bool, order="F")
        found[at, stories] = True
        return found

    def _chunk(self) -> int:
        """How many rows a dense block against every story may hold."""
        return max(1, CHUNK_CELLS // max(len(self.stories), 1))

    def _reweigh(self, c: int) -> None:
        """Story c's length after its squared length changed (a row moved in or out); a story left with no terms
        or no items is nobody's candidate."""
        self.norm[c] = sqrt(max(self.nsq[c], 0.0))
        self.safe[c] = self.norm[c] if self.norm[c] > 0.0 else 1.0
        gone = self.norm[c] <= 0.0 or (self.size[c] == 0 and not self.based[c])
        self.reach[c] = -np.inf if gone else 0.0

    # --- the steps ----------------------------------------------------------------------------------------

    def reassign(self) -> None:
        """One sweep over the members in item order: each moves to the story that fits it better than its own
        (its own without it), or, alone in its story, to a story it would have joined."""
        self._sweep(np.arange(len(self.items)))

    def _sweep(self, order: np.ndarray) -> None:
        """Look at these rows one after another, each against the stories as the moves before it left them.

        A chunk of rows' dot products with every story are made at once, and kept up to date as rows move. A
        move changes two stories, so two columns; it changes what a later row makes of them only where the row
        finds one of them or belongs to one, and its best story only where it was one of the two or one of them now
        beats it; a row's verdict is worked out again only then."""
        terms = self._story_terms()  # as the stories stand at the start, for every chunk alike
        step = self._chunk()
        for start in range(0, len(order), step):
            rows = order[start:start + step]
            X, when, own = self.X[rows], self.when[rows], self.lab[rows]
            dots = (self.C @ X.T).toarray().T  # column by column in memory
            at, stories, bounds = self._found(X, terms)
            findable = self._findable(len(rows), at, stories)
            best, score, runner_up = self._best_two(dots, at, stories, bounds, when, own)
            move = self._verdict(0, own, score, dots)
            x = np.zeros(X.shape[1])
            moved = False
            first = 0
            while first < len(rows):
                t = first + int(move[first:].argmax())
                if not move[t]:
                    break
                frm, to = int(own[t]), int(best[t])
                a, z = X.indptr[t], X.indptr[t + 1]
                x[X.indices[a:z]] = X.data[a:z]
                first = t + 1
                change = _matvec(X, x, first)
                x[X.indices[a:z]] = 0.0
                self._move_one(int(rows[t]), to, dots[t, frm], dots[t, to])
                own[t] = to
                moved = True
                dots[first:, frm] -= change
                dots[first:, to] += change
                if first < len(rows):
                    # The later rows: only those that find one of the two stories, or belong to one, can change
                    # their minds, but working on all of them reads the columns in place, which costs less than
                    # picking those out (most of them, after a large story moved).
                    self._rethink(first, (frm, to), dots, findable, when, own, best, score, runner_up)
                    move[first:] = self._verdict(first, own, score, dots)
            if moved:
                self._centroids()

    def _best_two(self, dots: np.ndarray, at: np.ndarray, stories: np.ndarray, bounds: np.ndarray,
                  when: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's best story (the first of equals; 0 for a row with none), its cosine, and the next best
        cosine, among the (row, story) pairs it finds (see `_found`)."""
        n = len(own)
        cos = dots[at, stories] / self.safe[stories] + self.reach[stories]
        if self.e.window is not None:
            cos[(self.last[stories] < when[at] - self.e.window) & (cos < self.p.revive)] = -np.inf
        cos[stories == own[at]] = -np.inf
        top = np.full(n, -np.inf)
        some = np.flatnonzero(np.diff(bounds) > 0)
        if len(some):
            top[some] = np.maximum.reduceat(cos, bounds[some])
        best = np.zeros(n, dtype=np.int64)
        if len(some):  # of the stories at the top, the first (a row's pairs come in any order)
            first = np.minimum.reduceat(np.where(cos == top[at], stories, len(self.stories)), bounds[some])
            best[some] = np.where(top[some] > -np.inf, first, 0)
        cos[(stories == best[at]) & (cos > -np.inf)] = -np.inf
        second = np.full(n, -np.inf)
        if len(some):
            second[some] = np.maximum.reduceat(cos, bounds[some])
        return best, top, second

    def _rethink(self, first: int, pair: tuple[int, int], dots: np.ndarray, findable: np.ndarray,
                 when: np.ndarray, own: np.ndarray, best: np.ndarray, score: np.ndarray, runner_up: np.ndarray
                 ) -> None:
        """The best and next best cosines of the rows from `first` on, after the two stories of a move changed. A
        row whose best story was one of them keeps it while it beats the runner-up, and looks at every story again
        otherwise; any row takes one of them that now beats its best (its best becomes the runner-up), and one that
        beats the runner-up becomes it. A row that neither finds nor belongs to either story sees -inf for both and
        keeps what it had."""
        e, p = self.e, self.p
        rows = slice(first, None)
        o, w = own[rows], when[rows]
        columns = []
        for c in pair:  # a column is contiguous: dots and findable are read column by column
            column = dots[rows, c] / self.safe[c] + self.reach[c]
            column[~findable[rows, c]] = -np.inf
            if e.window is not None and self.last[c] < w.max() - e.window:
                column[(self.last[c] < w - e.window) & (column < p.revive)] = -np.inf
            column[o == c] = -np.inf
            columns.append(column)
        b, top, second = best[rows], score[rows], runner_up[rows]  # views: changed in place
        was = b.copy()
        for c, column in zip(pair, columns, strict=True):
            keeps = was == c
            holds = column >= second
            top[keeps & holds] = column[keeps & holds]
            again = first + np.flatnonzero(keeps & ~holds)
            if len(again):
                whole = self._cosines(dots[again], findable[again], when[again], own[again])
                best[again] = whole.argmax(1)
                score[again] = whole[np.arange(len(again)), best[again]]
                runner_up[again] = _second(whole, best[again])
        for c, column in zip(pair, columns, strict=True):
            better = (column > top) & (b != c)
            second[better] = top[better]
            b[better], top[better] = c, column[better]
            beats = ~better & (b != c) & (column > second)
            second[beats] = column[beats]

    def _verdict(self, first: int, own: np.ndarray, score: np.ndarray, dots: np.ndarray) -> np.ndarray:
        """Whether the rows from `first` on move to their best story: when it beats their own story without them,
        or, alone in a story, when it reaches the join threshold."""
        p = self.p
        o, best = own[first:], score[first:]
        d = dots[np.arange(first, len(own)), o]
        alone = (self.size[o] == 1) & ~self.based[o]
        stay = (d - 1.0) / np.sqrt(np.maximum(self.nsq[o] - 2 * d + 1.0, 1e-9))
        return (best > 0.0) & np.where(alone, best >= p.join, best > stay)

    def _move_one(self, r: int, to: int, d_from: float, d_to: float) -> None:
        """Row r moves to story `to` (d_from, d_to: its dot products with the two stories, itself included in
        its own); both stories' lengths follow (|C - x|^2 = |C|^2 - 2 C.x + 1 for a unit row, and the like)."""
        frm = int(self.lab[r])
        self.nsq[frm] += 1.0 - 2 * d_from
        self.nsq[to] += 1.0 + 2 * d_to
        self._move(np.array([r]), np.array([to]))
        self._reweigh(frm)
        self._reweigh(to)

    def _move(self, rows: np.ndarray, to: np.ndarray) -> None:
        np.subtract.at(self.size, self.lab[rows], 1)
        np.add.at(self.size, to, 1)
        np.maximum.at(self.last, to, self.when[rows])
        self.lab[rows] = to

    def merge(self) -> None:
        """Merge mutually closest touched stories whose words one story explains about as well as two, round
        after round until no pair merges. Each touched story keeps its closest story; after a round, only the
        survivors' cosines are new, and only stories whose closest took part in a merge look again."""
        p = self.p
        rows = np.flatnonzero(self.touched & (self.nsq > 1e-9) & ~self.based & (self.size > 0))
        if len(rows) < 2:
            return
        m = len(self.stories)
        self.T = sparse.csr_matrix(self._assignment() @ self.K)
        self.T.sum_duplicates()  # sorted term columns in every row
        self.folded: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # rows of T that took merges
        self.C.sum_duplicates()
        self.merged: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # rows of C that took merges
        self.tokens = np.asarray(self.T.sum(1)).ravel()
        self.into = np.arange(m)  # each story's survivor, so far
        alive = (self.size > 0) | self.based
        alive &= self.norm > 0.0
        # A story finds partners as an item finds stories, by its strongest terms (those held by few enough
        # stories when the pass began): which terms each story holds, and each touched story's strongest.
        held_by, usable = self._story_terms()  # terms x stories: who holds a term
        held = held_by.T.tocsr()
        strongest = self._strongest(self.C[rows], usable)
        query = dict(zip(rows.tolist(), np.split(strongest.indices, strongest.indptr[1:-1]), strict=True))

        def finds(rows: np.ndarray, cols: np.ndarray | None) -> np.ndarray:
            """Which of these stories (None: every story) each of these rows finds: a story holds the terms of
            every story that merged into it."""
            ids = [query[r] for r in rows.tolist()]
            indptr = np.zeros(len(ids) + 1, dtype=np.int64)
            np.cumsum([len(t) for t in ids], out=indptr[1:])
            terms = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
            asked = sparse.csr_matrix((np.ones(len(terms)), terms, indptr), shape=(len(ids), held.shape[1]))
            if cols is None:
                where, width = self.into, m
                hit = sparse.csr_matrix(asked @ held_by)
            else:
                parts = np.flatnonzero(np.isin(self.into, cols))
                where, width = np.argsort(cols)[np.searchsorted(np.sort(cols), self.into[parts])], len(cols)
                hit = sparse.csr_matrix(asked @ held[parts].T)
            found = np.zeros((len(rows), width), dtype=bool)
            found[np.repeat(np.arange(len(rows)), np.diff(hit.indptr)), where[hit.indices]] = True
            return found

        held_dots = len(rows) * m <= HELD_CELLS
        dots = _HeldDots(self.C, rows, self.nsq, finds) if held_dots else _MadeDots(self.C, self.nsq, finds)
        best = np.full(m, -1, dtype=np.int64)
        score = np.full(m, -np.inf)
        eligible = np.zeros(m, dtype=bool)
        eligible[rows] = True

        def closest(rows: np.ndarray) -> None:
            step = self._chunk()
            for a in range(0, len(rows), step):
                part = rows[a:a + step]
                cos = dots.cosines(part, None, alive)
                cos[np.arange(len(part)), part] = -np.inf
                top = cos.argmax(1)
                best[part] = np.where(cos[np.arange(len(part)), top] > -np.inf, top, -1)
                score[part] = cos[np.arange(len(part)), top]

        closest(rows)
        rejected: set[tuple[int, int]] = set()
        while True:
            mutual = eligible & (best >= 0) & (score >= p.merge_floor)
            mutual[mutual] = eligible[best[mutual]]
            mutual[mutual] = best[best[mutual]] == np.flatnonzero(mutual)
            first = np.flatnonzero(mutual & (np.arange(m) < best))
            pairs = [(k, o) for k, o in zip(first.tolist(), best[first].tolist(), strict=True)
                     if (k, o) not in rejected]
            if not pairs:
                break
            ks, others = np.array([k for k, _ in pairs]), np.array([o for _, o in pairs])
            ok = (self._merge_gain(ks, others) / (self.tokens[ks] + self.tokens[others]) >= -p.merge_per_token)
            rejected.update(pair for pair, good in zip(pairs, ok.tolist(), strict=True) if not good)
            merges = [self._survivor(k, o) for (k, o), good in zip(pairs, ok.tolist(), strict=True) if good]
            if not merges:
                continue
            keeps = np.array([k for k, _ in merges])
            gones = np.array([g for _, g in merges])
            dots.fold(keeps, gones)
            self._fold(keeps, gones)
            self.tokens[keeps] += self.tokens[gones]
            self.size[keeps] += self.size[gones]
            self.size[gones] = 0
            np.maximum.at(self.last, keeps, self.last[gones])
            remap = np.arange(m)
            remap[gones] = keeps
            self.into = remap[self.into]
            alive[gones] = eligible[gones] = False
            best[gones], score[gones] = -1, -np.inf
            # the survivors find partners by their strongest terms as they are now
            for k in keeps.tolist():
                terms, weights = _row(self.merged, self.C, k)
                top = terms[np.argsort(-weights, kind="stable")[:p.candidate_terms]]
                query[k] = top[usable[top]]
            dots.found_again(keeps)
            changed = set(keeps.tolist()) | set(gones.tolist())
            rejected = {pair for pair in rejected if not changed.intersection(pair)}
            live = np.flatnonzero(eligible)
            # the survivors' new columns: a story whose closest is not among them may now be closer to one
            cos = dots.cosines(live, keeps, alive)
            cos[live[:, None] == keeps[None, :]] = -np.inf
            top = cos.argmax(1)
            top_cos = cos[np.arange(len(live)), top]
            better = top_cos > score[live]
            best[live[better]], score[live[better]] = keeps[top[better]], top_cos[better]
            # the survivors, and stories whose closest merged, look again
            closest(live[np.isin(best[live], list(changed)) | np.isin(live, keeps)])
        if (self.into != np.arange(m)).any():
            fold = _fold_matrix(self.into)
            self.C = sparse.csr_matrix(fold @ self.C)
            self.C0 = sparse.csr_matrix(fold @ self.C0)
            self.lab = self.into[self.lab]
            self.touched[self.into[self.touched]] = True
            self._norms()

    def _merge_gain(self, ks: np.ndarray, others: np.ndarray) -> np.ndarray:
        """How much the log likelihood of the pairs' words gains (loses, when negative) when each pair is one
        story. Words only one story has contribute alike to both sides, so only the shared words are summed."""
        b, vocabulary = self.p.beta, self.e.vocab.size
        xs, ys = [], []
        for k, o in zip(ks.tolist(), others.tolist(), strict=True):
            (ik, vk), (io, vo) = self._words(k), self._words(o)
            _, at_k, at_o = np.intersect1d(ik, io, assume_unique=True, return_indices=True)
            xs.append(vk[at_k])
            ys.append(vo[at_o])
        bounds = np.zeros(len(xs) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in xs], out=bounds[1:])
        x, y = np.concatenate(xs), np.concatenate(ys)
        terms = gammaln(x + y + b) - gammaln(x + b) - gammaln(y + b) + gammaln(b)
        running = np.concatenate([[0.0], np.cumsum(terms)])
        shared = running[bounds[1:]] - running[bounds[:-1]]
        n_k, n_o = self.tokens[ks], self.tokens[others]
        vb = vocabulary * b
        return shared - gammaln(n_k + n_o + vb) + gammaln(n_k + vb) + gammaln(n_o + vb) - gammaln(vb)

    def _words(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """A story's word counts as it stands: term columns (sorted) and counts."""
        return _row(self.folded, self.T, c)

    def _fold(self, keeps: np.ndarray, gones: np.ndarray) -> None:
        """The survivors' word counts and centroids take in those of the stories merged into them."""
        _fold_rows(self.folded, self.T, keeps, gones)
        _fold_rows(self.merged, self.C, keeps, gones)

    def _survivor(self, a: int, b: int) -> tuple[int, int]:
        """Which of two merging stories lives on: one the store already knows, then the larger one, then the
        older one."""
        keys = self.e.story_keys

        def rank(c: int) -> tuple:
            return keys[self.stories[c]] is not None, self.size[c], -self.stories[c]
        return (a, b) if rank(a) >= rank(b) else (b, a)

    def split(self) -> None:
        """Split each large touched story in two when the likelihood test strongly prefers its best bisection
        (tested again once the story has grown by a fifth). The larger half keeps the story."""
        p, e = self.p, self.e
        b, vocabulary = p.beta, e.vocab.size
        large = np.flatnonzero(self.touched & (self.size >= 2 * p.split_min) & ~self.based)
        splits: list[np.ndarray] = []
        for c in large.tolist():
            k = self.stories[c]
            size = int(self.size[c])
            if size < 1.2 * e._split_size.get(k, 0):
                continue
            e._split_size[k] = size
            rows = np.flatnonzero(self.lab == c)
            side = bisect(self.X[rows])
            if side is None:
                continue
            first, second = rows[side], rows[~side]
            if min(len(first), len(second)) < p.split_min:
                continue
            whole, part = _word_counts(self.K, rows, side)
            gain = _likelihood(part, b, vocabulary) + _likelihood(whole - part, b, vocabulary) \
                - _likelihood(whole, b, vocabulary)
            if gain / whole.sum() < p.split_per_token:
                continue
            if len(second) > len(first):
                first, second = second, first
            e._split_size[k] = len(first)
            splits.append(second)
        if not splits:
            return
        for second in splits:
            k = e._new(None)
            e._split_size[k] = len(second)
            self._add_column(k)
            self._move(second, np.full(len(second), len(self.stories) - 1))
        self._centroids()

    def _add_column(self, k: int) -> None:
        self.scol[k] = len(self.stories)
        self.stories.append(k)
        self.touched = np.append(self.touched, True)
        self.based = np.append(self.based, False)
        self.size = np.append(self.size, 0)
        self.last = np.append(self.last, 0.0)
        self.C0 = sparse.csr_matrix(sparse.vstack([self.C0, sparse.csr_matrix((1, self.C0.shape[1]))]))

    def absorb(self) -> None:
        """Fold the items of tiny touched stories into their closest story when it is close enough: story by
        story, each item as the moves before it left the stories (an item that moves into a tiny story still to
        come is looked at again there)."""
        tiny = np.flatnonzero(self.touched & (self.size > 0) & (self.size <= self.p.absorb_size) & ~self.based)
        rows = np.flatnonzero(np.isin(self.lab, tiny))
        if not len(rows):
            return
        X, when = self.X[rows], self.when[rows]
        dots = (X @ self.C.T).toarray()
        gram = (X @ X.T).toarray()  # what moving one of these rows changes in the others' dot products
        findable = self._findable(len(rows), *self._found(X, self._story_terms())[:2])
        moved = False
        for c in tiny.tolist():
            for n in np.flatnonzero(self.lab[rows] == c).tolist():
                if self.size[c] == 0:
                    break
                one = slice(n, n + 1)
                cos = self._cosines(dots[one], findable[one], when[one], np.array([c]))[0]
                to = int(cos.argmax())
                if cos[to] < self.p.absorb:
                    continue
                self._move_one(int(rows[n]), to, dots[n, c], dots[n, to])
                dots[:, c] -= gram[:, n]
                dots[:, to] += gram[:, n]
                moved = True
        if moved:
            self._centroids()

    # --- the outcome --------------------------------------------------------------------------------------

    def write(self, touched: Sequence[int]) -> None:
        """Hand the stories back to the clusterer: the members and labels of the stories that changed, stories
        left empty dropped, and every centroid."""
        e = self.e
        changed = set(touched) | {self.stories[c] for c in np.flatnonzero(self.touched)}
        changed |= {self.stories[c] for c in set(self.lab.tolist())}  # untouched stories may take items
        ours = set(self.items)
        members = {k: e.members[k] - ours for k in changed}
        for i, c in zip(self.items, self.lab.tolist(), strict=True):
            k = self.stories[c]
            members[k].add(i)
            e.label[i] = k
        dropped = []
        for k in sorted(members):
            if not members[k] and k not in e.base:
                dropped.append(k)
                del e.members[k]
            else:
                e.members[k] = members[k]
                e.last[k] = max(e.last[k], float(self.last[self.scol[k]]))
        for k in dropped:
            e._split_size.pop(k, None)
        # every story's centroid at its row of the clusterer's matrix (those dropped left empty)
        keep = np.ones(len(self.stories))
        keep[[self.scol[k] for k in dropped]] = 0.0
        place = sparse.csr_matrix((keep, (self.stories, range(len(self.stories)))),
                                  shape=(e._next, len(self.stories)))
        C = sparse.csr_matrix(place @ self.C)
        C.eliminate_zeros()
        e.rows.reset(C)
        e.nsq[self.stories] = self.nsq * keep


try:  # scipy's own kernel for `matrix @ vector`, without the dispatch around it (it adds up in tight loops)
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - another scipy layout
    _csr_matvec = None


def _matvec(matrix: sparse.csr_matrix, vector: np.ndarray, start: int = 0) -> np.ndarray:
    """`matrix[start:] @ vector` for a CSR matrix of floats and a vector of floats, without copying the rows."""
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


def _second(cos: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Each row's highest value but the one at `top` (-inf for a row of one)."""
    at = np.arange(cos.shape[0])
    kept = cos[at, top]
    cos[at, top] = -np.inf
    second = cos.max(1) if cos.shape[1] else np.full(cos.shape[0], -np.inf)
    cos[at, top] = kept
    return second


def _unit_rows(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """Rows scaled to length 1 (empty rows left empty), entries in the order they were."""
    lengths = np.diff(m.indptr)
    norms = np.sqrt(np.bincount(np.repeat(np.arange(m.shape[0]), lengths), m.data * m.data, minlength=m.shape[0]))
    norms[norms == 0] = 1.0
    return sparse.csr_matrix((m.data * np.repeat(1.0 / norms, lengths), m.indices.copy(), m.indptr.copy()),
                             shape=m.shape)


def _word_counts(counts: sparse.csr_matrix, rows: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The word counts of these rows together, and of those on one side, term by term over the terms they have."""
    sub = counts[rows]
    terms, where = np.unique(sub.indices, return_inverse=True)
    on_side = np.repeat(side, np.diff(sub.indptr))
    return (np.bincount(where, sub.data, minlength=len(terms)),
            np.bincount(where[on_side], sub.data[on_side], minlength=len(terms)))


def _likelihood(counts: np.ndarray, beta: float, vocabulary: int) -> float:
    """log Dirichlet-multinomial marginal likelihood of a story's words (term counts)."""
    present = counts[counts > 0]
    n = float(counts.sum())
    return float((gammaln(present + beta) - gammaln(beta)).sum()) \
        - (float(gammaln(n + vocabulary * beta)) - float(gammaln(vocabulary * beta)))


def bisect(m: sparse.csr_matrix) -> np.ndarray | None:
    """Two groups of a story's members (rows of unit vectors): story-local IDF, first principal direction,
    spherical 2-means. With sparse matrices, the centring kept apart (the centred matrix is dense and large)."""
    n = m.shape[0]
    local_df = np.bincount(m.indices, minlength=m.shape[1])
    columns = np.flatnonzero((local_df >= 2) & (local_df < n))
    if not len(columns):
        return None
    m = m[:, columns].tocsr()
    m.data *= np.log(n / local_df[columns].astype(float))[m.indices]
    m = _unit_rows(m)
    mt = m.T.tocsr()
    mean = np.asarray(m.mean(0)).ravel()
    x = _direction(m, mt, mean, np.full(len(columns), 1.0 / sqrt(len(columns))))
    if x is None:
        # The even start was square to every way the members differ (it happens when they fall into groups of
        # the same shape): start from the member farthest from their mean.
        far = int(np.argmax(np.asarray(m.multiply(m).sum(1)).ravel() - 2 * (m @ mean)))
        start = m[far].toarray().ravel() - mean
        length = sqrt(start @ start)
        x = _direction(m, mt, mean, start / length) if length > 0 else None
        if x is None:
            return None
    side = (m @ x - mean @ x) > 0
    for _ in range(10):
        if side.all() or not side.any():
            return None
        c1, c2 = mt @ side.astype(float), mt @ (~side).astype(float)
        c1 /= sqrt(c1 @ c1) or 1.0
        c2 /= sqrt(c2 @ c2) or 1.0
        moved = m @ c1 >= m @ c2
        if (moved == side).all():
            break
        side = moved
    return side


def _direction(m: sparse.csr_matrix, mt: sparse.csr_matrix, mean: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """Power iteration from x: the direction along which the rows of m (unit vectors), centred, differ most.
    None when they do not differ along x at all: what is left is rounding noise, no direction."""
    for step in range(30):
        y = _matvec(m, x) - mean @ x
        if not step and y @ y <= 1e-18 * len(y):
            return None
        x = _matvec(mt, y) - mean * y.sum()
        length = sqrt(x @ x)
        if length == 0:
            return None
        x /= length
    return x


class _HeldDots:
    """The dot products of the merge pass's stories (rows) with every story (columns), held, and which stories
    each row finds: centroids add up, so after a merge the survivor's row and column are the sums of the two
    stories' rows and columns, and it is found by whoever found either."""

    def __init__(self, C: sparse.csr_matrix, rows: np.ndarray, nsq: np.ndarray, finds) -> None:
        self.at = np.full(C.shape[0], -1, dtype=np.int64)
        self.at[rows] = np.arange(len(rows))
        self.D = (C[rows] @ C.T).toarray()
        self.nsq = nsq.copy()
        self.finds = finds
        self.F = finds(rows, None)

    def cosines(self, rows: np.ndarray, cols: np.ndarray | None, alive: np.ndarray) -> np.ndarray:
        at = self.at[rows]
        if cols is None:
            d, found = self.D[at], self.F[at]
        else:
            d, found = self.D[np.ix_(at, cols)], self.F[np.ix_(at, cols)]
        cos = _cosines(d, self.nsq, rows, cols, alive)
        cos[~found] = -np.inf
        return cos

    def fold(self, keeps: np.ndarray, gones: np.ndarray) -> None:
        D, at = self.D, self.at
        D[at[keeps]] += D[at[gones]]
        D[:, keeps] += D[:, gones]
        self.nsq[keeps] = D[at[keeps], keeps]
        self.F[:, keeps] |= self.F[:, gones]

    def found_again(self, stories: np.ndarray) -> None:
        """These stories look partners up by other terms now."""
        self.F[self.at[stories]] = self.finds(stories, None)


class _MadeDots:
    """The same made when asked for, from the centroids: for more stories than can be held."""

    def __init__(self, C: sparse.csr_matrix, nsq: np.ndarray, finds) -> None:
        self.C = C
        self.nsq = nsq.copy()
        self.finds = finds

    def cosines(self, rows: np.ndarray, cols: np.ndarray | None, alive: np.ndarray) -> np.ndarray:
        d = (self.C[rows] @ (self.C if cols is None else self.C[cols]).T).toarray()
        cos = _cosines(d, self.nsq, rows, cols, alive)
        cos[~self.finds(rows, cols)] = -np.inf
        return cos

    def fold(self, keeps: np.ndarray, gones: np.ndarray) -> None:
        into = np.arange(self.C.shape[0])
        into[gones] = keeps
        self.C = sparse.csr_matrix(_fold_matrix(into) @ self.C)
        self.nsq[keeps] = np.asarray(self.C[keeps].multiply(self.C[keeps]).sum(1)).ravel()

    def found_again(self, stories: np.ndarray) -> None:
        """Nothing to do: what a story finds is worked out each time it is asked."""


_lgamma = np.frompyfunc(lgamma, 1, 1)


def gammaln(x) -> np.ndarray | float:
    """ln Gamma(x), element by element (the likelihood test's arrays are short; `scipy.special` would add a
    tenth of a second to every run that tidies a story, to import)."""
    return np.asarray(_lgamma(x), dtype=float) if isinstance(x, np.ndarray) else lgamma(x)


def _fold_matrix(into: np.ndarray) -> sparse.csr_matrix:
    """stories x stories: each story's row added into the row of the story it merged into (`into`)."""
    m = len(into)
    return sparse.csr_matrix((np.ones(m), (into, np.arange(m))), shape=(m, m))


def _row(rows: dict[int, tuple[np.ndarray, np.ndarray]], matrix: sparse.csr_matrix, c: int
         ) -> tuple[np.ndarray, np.ndarray]:
    """Row c as it stands: as `rows` holds it once it took merges, from the matrix before."""
    row = rows.get(c)
    if row is None:
        a, z = matrix.indptr[c], matrix.indptr[c + 1]
        row = (matrix.indices[a:z], matrix.data[a:z])
    return row


def _fold_rows(rows: dict[int, tuple[np.ndarray, np.ndarray]], matrix: sparse.csr_matrix, keeps: np.ndarray,
               gones: np.ndarray) -> None:
    """Each gone row added into its keep row (columns sorted)."""
    for k, g in zip(keeps.tolist(), gones.tolist(), strict=True):
        (ik, vk), (ig, vg) = _row(rows, matrix, k), _row(rows, matrix, g)
        columns, where = np.unique(np.concatenate([ik, ig]), return_inverse=True)
        rows[k] = columns, np.bincount(where, np.concatenate([vk, vg]), minlength=len(columns))
        rows.pop(g, None)


def _cosines(d: np.ndarray, nsq: np.ndarray, rows: np.ndarray, cols: np.ndarray | None,
             alive: np.ndarray) -> np.ndarray:
    """Cosines from dot products: a story that has gone, or has no terms, is nobody's candidate (-inf)."""
    col_nsq = nsq if cols is None else nsq[cols]
    ok = alive if cols is None else alive[cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = d / np.sqrt(np.maximum(nsq[rows], 1e-300))[:, None] / np.sqrt(np.where(col_nsq > 0, col_nsq, 1.0))
    cos[:, ~(ok & (col_nsq > 0))] = -np.inf
    return cos
