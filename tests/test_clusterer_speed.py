"""The clusterer's fast paths give the answers of the plain ones: pruned lookups, the screening of the
maintenance sweep, the merge pass's matrices and the sparse bisection; and clustering is fast enough on the dev
data."""

import copy
import random
from collections import Counter
from math import sqrt
from operator import itemgetter
from pathlib import Path

import pytest

from tidings import clusterer
from tidings.clusterer import ClusterParams, StoryClusterer, Vocabulary, dot

WORDS = [f"w{n}" for n in range(400)]
COMMON = [f"c{n}" for n in range(12)]


def stream(n: int, seed: int, topics: int = 25, noise: int = 6) -> list[Counter]:
    """Items about a few topics each, with shared common words and up to `noise` other words."""
    rng = random.Random(seed)
    vocab = [rng.sample(WORDS, 14) for _ in range(topics)]
    docs = []
    for _ in range(n):
        topic = vocab[min(int(rng.expovariate(0.15)), topics - 1)]
        words = rng.sample(topic, rng.randint(3, 9)) + rng.sample(COMMON, rng.randint(0, 4)) \
            + rng.sample(WORDS, rng.randint(0, noise))
        docs.append(Counter({w: rng.choice([1.0, 1.0, 2.0, 3.0]) for w in words}))
    return docs


def build(docs, params=None, window=None, base=0) -> StoryClusterer:
    engine = StoryClusterer(Vocabulary(), params or ClusterParams(split_min=5), window=window)
    for n in range(base):  # dormant stories the store holds as centroids only
        engine.load_story(f"old{n}", centroid={w: 0.5 for w in WORDS[n * 7:n * 7 + 6]}, last=0.0)
    for n, d in enumerate(docs):
        engine.add(n, d, when=n * 3600.0 if window else 0.0)
    return engine


def fast(monkeypatch) -> None:
    """Every fast path on, however few the items (they pay off from a few thousand)."""
    monkeypatch.setattr(clusterer, "MERGE_MATRIX_ROWS", 0)
    monkeypatch.setattr(clusterer, "SCREEN_ITEMS", 0)


def slow(monkeypatch) -> None:
    """Every fast path off: the loops the clusterer had before it had them."""
    monkeypatch.setattr(clusterer, "MERGE_MATRIX_CELLS", -1)
    monkeypatch.setattr(clusterer, "SCREEN_ITEMS", 10 ** 9)


def state(engine: StoryClusterer):
    return engine.labels(), sorted(sorted(keys) for keys in engine.stories().values())


# --- one lookup ---------------------------------------------------------------------------------------------

def reference_best(engine, v, when=None, own=None, exclude=None, exact=None):
    """`_best` as it was: every chosen candidate scored by a full dot product."""
    p = engine.p
    top = sorted(v.items(), key=itemgetter(1), reverse=True)[:p.candidate_terms]
    partial = {}
    for term, a in top:
        postings = engine.index.get(term)
        if postings and len(postings) <= p.posting_cap:
            for k, x in postings.items():
                partial[k] = partial.get(k, 0.0) + a * x
    partial.pop(exclude, None)
    if not partial:
        return None, 0.0
    limit = exact or p.exact
    chosen = sorted(partial, key=lambda k: partial[k] / sqrt(engine.nsq[k]), reverse=True)[:limit]
    if own is not None and own in partial and own not in chosen:
        chosen.append(own)
    best, best_score = None, 0.0
    for k in chosen:
        d = dot(v, engine.cent[k])
        if k == own:
            rest = engine.nsq[k] - 2 * d + 1.0
            if rest <= 1e-9:
                continue
            score = (d - 1.0) / sqrt(rest)
        elif d > 0.0:
            score = d / sqrt(engine.nsq[k])
        else:
            continue
        if when is not None and engine.window is not None and k != own \
                and engine.last[k] < when - engine.window and score < p.revive:
            continue
        if score > best_score or (score == best_score and best is not None and k < best):
            best, best_score = k, score
    return best, best_score


@pytest.mark.parametrize("seed, chunk", [(1, 20), (2, 20), (3, 20), (4, 1), (5, 3)])
def test_pruned_lookups_answer_as_full_ones(seed, chunk, monkeypatch):
    monkeypatch.setattr(clusterer, "EXACT_CHUNK", chunk)  # candidates completed a few at a time, or one by one
    docs = stream(500, seed)
    engine = build(docs[:400], window=30 * 3600.0)
    engine._reweight()
    checked = 0
    for n, d in enumerate(docs[400:]):
        v = engine.vocab.vector(d)
        for kwargs in ({}, {"when": (400 + n) * 3600.0}, {"exact": 3}, {"exact": 10 ** 9}):
            got, want = engine._best(v, **kwargs), reference_best(engine, v, **kwargs)
            assert got[0] == want[0] and got[1] == pytest.approx(want[1], abs=1e-12)
            checked += 1
    for i in range(0, 400, 7):  # an item against its own story, left out
        got = engine._best(engine.vecs[i], own=engine.label[i], exact=8)
        want = reference_best(engine, engine.vecs[i], own=engine.label[i], exact=8)
        assert got[0] == want[0] and got[1] == pytest.approx(want[1], abs=1e-12)
    assert checked == 400


# --- the passes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed, window, base, noise", [(5, None, 0, 6), (6, 20 * 3600.0, 2, 16), (7, None, 3, 16)])
def test_maintenance_moves_the_same_items_with_and_without_the_fast_paths(seed, window, base, noise, monkeypatch):
    docs, more = stream(700, seed, noise=noise), stream(200, seed + 100)
    with monkeypatch.context() as m:
        fast(m)
        quick = build(docs, window=window, base=base)
        quick.maintain()
    with monkeypatch.context() as m:
        slow(m)
        plain = build(docs, window=window, base=base)
        plain.maintain()
    assert state(quick) == state(plain)
    # and again, with more items after a first pass (stale entries, stories already tidied)
    for engine, switch in ((quick, fast), (plain, slow)):
        with monkeypatch.context() as m:
            switch(m)
            for n, d in enumerate(more, len(docs)):
                engine.add(n, d, when=n * 3600.0 if window else 0.0)
            engine.maintain()
    assert state(quick) == state(plain)


def test_the_merge_matrices_and_the_one_by_one_lookups_agree(monkeypatch):
    engine = build(stream(900, 8, topics=60))
    engine._reweight()
    engine._reassign()
    matrices, lookups = copy.deepcopy(engine), copy.deepcopy(engine)
    fast(monkeypatch)
    matrices._merge()
    monkeypatch.setattr(clusterer, "MERGE_MATRIX_CELLS", -1)
    lookups._merge()
    assert state(matrices) == state(lookups)
    assert len(matrices.members) < len(engine.members)  # it did merge


def test_items_screened_as_staying_would_not_have_moved(monkeypatch):
    fast(monkeypatch)
    engine = build(stream(800, 9, noise=16))  # long items: the sweep screens them
    engine._reweight()
    verdicts = Counter()
    certain = clusterer._Stays.certain

    def checked(self, i, own):
        stays = certain(self, i, own)
        if stays:  # the full lookup must agree that it stays
            e = self.engine
            best, score, d = e._lookup(e.vecs[i], when=e.when[i], own=own, exact=clusterer.REASSIGN_EXACT)
            if best is not None and best != own:
                if len(e.members[own]) == 1 and own not in e.base:
                    assert score < e.p.join
                else:
                    assert score <= (d - 1.0) / sqrt(max(e.nsq[own] - 2 * d + 1.0, 1e-9))
        verdicts[stays] += 1
        return stays

    monkeypatch.setattr(clusterer._Stays, "certain", checked)
    engine._reassign()
    assert verdicts[True] > verdicts[False] > 0


def test_a_split_still_separates_two_stories_glued_together():
    a = [Counter({"barrier": 3.0, "tidal": 1.0, "harbour": 1.0, f"x{n}": 1.0}) for n in range(30)]
    b = [Counter({"comet": 3.0, "orbit": 1.0, "telescope": 1.0, f"y{n}": 1.0}) for n in range(30)]
    engine = StoryClusterer(Vocabulary(), ClusterParams(split_min=10, merge_floor=2.0, absorb=2.0))
    k = None
    for n, d in enumerate(a + b):
        engine.vocab.observe(d)
        i = engine._item(n, d, 0.0)
        k = engine._new(None) if k is None else k
        engine._add_to(k, i, engine.vecs[i])  # all in one story, whatever their words
        engine.touched.add(k)
    engine.maintain()
    assert state(engine)[1] == [list(range(30)), list(range(30, 60))]


# --- the dev data -------------------------------------------------------------------------------------------

GOOGLENEWS = Path(__file__).resolve().parents[2] / "shared" / "eval-data" / "googlenews-dev"


@pytest.mark.skipif(not GOOGLENEWS.exists(), reason="needs ../shared/eval-data/googlenews-dev, present in CI only")
def test_dev_split_clusters_the_same_with_and_without_the_fast_paths(monkeypatch):
    from tidings.cluster import params
    from tidings.config import Settings
    from tidings.embed import LexicalVectoriser
    from tidings.evaluate import read_labelled

    counts = LexicalVectoriser().counts
    docs = [counts("", r.text) for r in read_labelled(GOOGLENEWS / "T.jsonl")]

    def run():
        engine = StoryClusterer(Vocabulary(), params(Settings()))
        for n, d in enumerate(docs):
            engine.add(n, d)
        engine.maintain()
        return engine.labels()

    fast = run()
    slow(monkeypatch)
    assert fast == run()


def test_the_cycle_collector_is_held_off_while_clustering_and_restored_after():
    import gc

    assert gc.isenabled()
    with clusterer.no_cycle_collection():
        assert not gc.isenabled()
        engine = build(stream(50, 1))
        engine.maintain()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), clusterer.no_cycle_collection():
        raise ZeroDivisionError("an error inside")
    assert gc.isenabled()  # an error on the way out restores it too
    gc.disable()
    try:
        with clusterer.no_cycle_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that had turned it off keeps it off
    finally:
        gc.enable()


def test_maintenance_after_a_run_weighs_again_only_the_stories_new_items_joined():
    """As the pipeline runs it: stories loaded from the store, a new item, maintenance. The story the item joined
    is weighed with the vocabulary as it is now; a story nobody touched keeps the weights it was loaded with."""
    rng = random.Random(5)
    topics = {topic: [f"{topic}{n}" for n in range(10)] for topic in "ab"}
    loaded = {topic: [Counter(rng.sample(words, 5)) for _ in range(12)] for topic, words in topics.items()}
    vocabulary = Vocabulary()
    for docs in loaded.values():
        for d in docs:
            vocabulary.observe(d)
    engine = StoryClusterer(vocabulary, ClusterParams())
    first, second = (engine.load_story(topic, [(f"{topic}{n}", d, 0.0) for n, d in enumerate(docs)])
                     for topic, docs in loaded.items())
    for n in range(2):  # the first weighs the loaded stories; the second moves the IDF after that
        newcomer = Counter(topics["a"][n:n + 4])
        vocabulary.observe(newcomer)
        assert engine.add(f"new{n}", newcomer, observe=False) == first
    untouched = {i: engine.vecs[i] for i in engine.members[second]}
    centroid = dict(engine.cent[second])
    engine.maintain()
    assert all(engine.vecs[i] == engine.vocab.vector(engine.docs[i]) for i in engine.members[first])
    assert {i: engine.vecs[i] for i in engine.members[second]} == untouched and engine.cent[second] == centroid
    assert any(v != engine.vocab.vector(engine.docs[i]) for i, v in untouched.items())  # the IDF did move
