"""The clusterer's pruned lookups give the answers of full ones, and its maintenance pass (`tidings.maintenance`)
does what it says: moves misplaced items, merges what belongs together, splits what does not, keeps what the
store holds, and gives the same stories whether it holds its matrices or makes them a chunk at a time."""

import random
from collections import Counter
from math import sqrt
from operator import itemgetter
from pathlib import Path

import pytest

from tidings import clusterer, maintenance
from tidings.cluster import no_cycle_collection
from tidings.clusterer import ClusterParams, StoryClusterer, Vocabulary, blend, dot

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


def state(engine: StoryClusterer):
    return engine.labels(), sorted(sorted(keys) for keys in engine.stories().values())


def topic(name: str, n: int, seed: int) -> list[Counter]:
    rng = random.Random(seed)
    words = [f"{name}{j}" for j in range(10)]
    return [Counter(rng.sample(words, 5)) for _ in range(n)]


# --- placing items ------------------------------------------------------------------------------------------

def reference_best(engine, v, when=None):
    """The story an item joins, worked out the long way: a full dot product with every story that holds one of
    its strongest terms held by few enough stories."""
    p = engine.p
    centroids = {k: engine.centroid(k) for k in engine.members}
    holders = Counter(t for c in centroids.values() for t in c)
    top = sorted(v.items(), key=itemgetter(1), reverse=True)[:p.candidate_terms]
    usable = {t for t, _ in top if holders[t] <= p.posting_cap}
    best, best_score = None, 0.0
    for k in sorted(centroids):
        c = centroids[k]
        d = dot(v, c)
        if not usable & c.keys() or d <= 0.0:
            continue
        score = d / sqrt(sum(x * x for x in c.values()))
        if when is not None and engine.window is not None and engine.last[k] < when - engine.window \
                and score < p.revive:
            continue
        if score > best_score:
            best, best_score = k, score
    return best, best_score


def test_centroids_take_changes_one_by_one_or_in_a_pass_alike(monkeypatch):
    """A few changed entries go into the centroid matrix in place, many by a pass over all of it: the same sums,
    bit for bit, and the same matrix (sorted, no duplicates) either way; a replaced row drops what it took before."""
    import numpy as np

    rng = random.Random(3)

    def run(few):
        monkeypatch.setattr(clusterer._Centroids, "FEW", few)
        rows = clusterer._Centroids()
        got = []
        for step in range(30):
            stories = np.array([rng.randrange(12) for _ in range(rng.randint(1, 4))])
            bounds = np.cumsum([0] + [rng.randint(0, 5) for _ in stories])
            cols = np.array([rng.randrange(40) for _ in range(bounds[-1])], dtype=np.int64)
            rows.add(stories, bounds, cols, np.array([rng.random() for _ in cols]))
            if step % 7 == 3:
                rows.replace(int(stories[0]), np.array([1, 5]), np.array([0.5, 0.25]))
            if step % 3 == 2:
                m = rows.by_term(40, 12)
                got.append((m.data.tobytes(), m.indices.tolist(), m.indptr.tolist()))
                assert all((np.diff(m.indices[a:z]) > 0).all() for a, z in zip(m.indptr[:-1], m.indptr[1:],
                                                                                 strict=True))
        return got

    state = rng.getstate()
    one_by_one = run(10 ** 9)
    rng.setstate(state)
    assert run(0) == one_by_one


@pytest.mark.parametrize("observe", [True, False])
def test_a_batch_is_weighed_as_one_document_at_a_time_bit_for_bit(observe):
    """A batch's TF-IDF vectors, made at once, are `Vocabulary.vector`'s, each with the document frequencies the
    documents before it left (and its own), to the last bit; counts below one weigh nothing, as there."""
    docs = stream(2000, 11)
    docs[5] = Counter()  # an item with no words
    docs[9] = Counter({"w1": 0.5, "w2": 2.0})  # and one with a count below one
    rng = random.Random(11)
    known = {w: rng.randint(1, 90_000) for w in WORDS[::2]}  # a store's many documents: logs of many ratios
    one = Vocabulary(documents=100_000, df=known)
    expected = []
    for d in docs:
        if observe:
            one.observe(d)
        expected.append(one.vector(d))
    engine = StoryClusterer(Vocabulary(documents=100_000, df=known))
    got = []
    for start in range(0, len(docs), 128):
        batch = docs[start:start + 128]
        at, ids, weights = engine._weighed(batch, engine._ids([t for d in batch for t in d]), observe)
        got += [dict(zip([engine.names[j] for j in ids[a:z]], weights[a:z].tolist(), strict=True))
                for a, z in zip(at[:-1], at[1:], strict=True)]
    assert got == expected
    assert [list(v) for v in got] == [list(v) for v in expected]  # the same terms in the same order
    assert (engine.vocab.df, engine.vocab.documents) == (one.df, one.documents)


@pytest.mark.parametrize("seed, batch, cap, window", [(1, 256, 200, None), (2, 7, 200, 30 * 3600.0),
                                                      (3, 5, 4, None), (4, 1, 6, 30 * 3600.0)])
def test_batches_place_items_as_the_long_way_one_at_a_time(seed, batch, cap, window, monkeypatch):
    """A batch places each item against the stories the items before it left, as a full search would; a term
    that comes to be held by too many stories inside a batch stops finding them (a small cap makes it happen)."""
    docs = stream(300, seed)
    params = ClusterParams(split_min=5, posting_cap=cap)
    when = [n * 3600.0 if window else 0.0 for n in range(len(docs))]
    one = StoryClusterer(Vocabulary(), params, window=window)
    for n, d in enumerate(docs[:200]):
        one.vocab.observe(d)
        v = one.vocab.vector(d)
        k, score = reference_best(one, v, when[n])
        got = one.add(n, d, when[n], observe=False, vector=v)
        assert got == (k if k is not None and score >= params.join else one._next - 1)
    monkeypatch.setattr(clusterer, "BATCH", batch)
    many = StoryClusterer(Vocabulary(), params, window=window)
    many.add_many(range(200), docs[:200], when[:200])
    assert many.labels() == one.labels()
    for engine in (one, many):  # and after a maintenance pass, against the stories it wrote back
        engine.maintain()
    assert state(many) == state(one)
    one.add_many(range(200, 300), docs[200:], when[200:])
    for n, d in enumerate(docs[200:], 200):
        v = many.vocab.vector(d) if many.vocab.observe(d) is None else None
        k, score = reference_best(many, v, when[n])
        got = many.add(n, d, when[n], observe=False, vector=v)
        assert got == (k if k is not None and score >= params.join else many._next - 1)
    assert many.labels() == one.labels()


# --- the maintenance pass -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed, window, base, noise", [(5, None, 0, 6), (6, 20 * 3600.0, 2, 16), (7, None, 3, 16)])
def test_held_and_chunked_matrices_give_the_same_stories(seed, window, base, noise, monkeypatch):
    """The merge pass holds its dot products while they fit, and every step makes its dense blocks a chunk at a
    time; with nothing held and tiny chunks, the stories come out the same."""
    docs, more = stream(700, seed, noise=noise), stream(200, seed + 100)

    def run(m):
        engine = build(docs, window=window, base=base)
        streamed = state(engine)
        engine.maintain()
        assert state(engine) != streamed  # it did move, merge, split or fold
        for n, d in enumerate(more, len(docs)):  # and again, after a first pass
            engine.add(n, d, when=n * 3600.0 if window else 0.0)
        engine.maintain()
        return state(engine)

    with monkeypatch.context() as m:
        held = run(m)
    with monkeypatch.context() as m:
        m.setattr(maintenance, "HELD_CELLS", 0)
        m.setattr(maintenance, "CHUNK_CELLS", 50)
        made = run(m)
    assert held == made


def test_an_item_in_the_wrong_story_moves_to_the_one_it_fits():
    a, b = topic("a", 12, 1), topic("b", 12, 2)
    stray = Counter(["b1", "b2", "b3", "b4"])
    engine = StoryClusterer(Vocabulary(), ClusterParams())
    for d in a + b + [stray]:
        engine.vocab.observe(d)
    first = engine.load_story("A", [(f"a{n}", d, 0.0) for n, d in enumerate(a)] + [("stray", stray, 0.0)])
    second = engine.load_story("B", [(f"b{n}", d, 0.0) for n, d in enumerate(b)])
    engine.touched |= {first, second}
    engine.maintain()
    stories = {engine.story_keys[k]: set(keys) for k, keys in engine.stories().items()}
    assert "stray" in stories["B"] and "stray" not in stories["A"]
    assert len(stories["A"]) == 12 and len(stories["B"]) == 13


def test_a_story_nobody_touched_keeps_its_members_when_it_takes_one():
    """As the pipeline runs it: a new item touches story A; A's stray member moves to B, which no new item
    touched. B keeps every member it had, and its centroid takes the stray's vector."""
    a, b = topic("a", 12, 3), topic("b", 12, 4)
    stray = Counter(["b1", "b2", "b3", "b4"])
    vocabulary = Vocabulary()
    for d in a + b + [stray]:
        vocabulary.observe(d)
    engine = StoryClusterer(vocabulary, ClusterParams())
    first = engine.load_story("A", [(f"a{n}", d, 0.0) for n, d in enumerate(a)] + [("stray", stray, 0.0)])
    second = engine.load_story("B", [(f"b{n}", d, 0.0) for n, d in enumerate(b)])
    assert engine.add("new", Counter(["a1", "a2", "a3"])) == first
    before = dict(engine.centroid(second))
    engine.maintain()
    assert engine.touched == set()
    members = {engine.item_keys[i] for i in engine.members[second]}
    assert members == {f"b{n}" for n in range(12)} | {"stray"}
    grown = engine.centroid(second)
    stray_vector = engine.vocab.vector(stray)
    assert grown["b1"] == pytest.approx(before["b1"] + stray_vector["b1"])


def test_stories_the_store_holds_as_centroids_are_kept_and_never_merged():
    engine = build(stream(300, 11), base=3)
    engine.maintain()
    assert all(f"old{n}" in engine.story_keys.values() for n in range(3))
    dormant = [k for k, key in engine.story_keys.items() if isinstance(key, str)]
    assert len(dormant) == 3 and all(k in engine.members and k in engine.base for k in dormant)
    assert all(engine.centroid(k) for k in dormant)  # a centroid that lost nothing: the store's mass at least


def test_two_halves_of_one_story_merge_and_the_known_story_survives():
    docs = topic("a", 24, 5)
    vocabulary = Vocabulary()
    for d in docs:
        vocabulary.observe(d)
    engine = StoryClusterer(vocabulary, ClusterParams())
    first = engine.load_story(None, [(n, d, 0.0) for n, d in enumerate(docs[:8])])
    second = engine.load_story("known", [(n, d, 0.0) for n, d in enumerate(docs[8:], 8)])
    engine.touched |= {first, second}
    engine.maintain()
    assert list(engine.members) == [second] and len(engine.members[second]) == 24
    assert first not in engine.members and engine.matrix()[first].nnz == 0  # no terms left to be found by


def test_a_split_still_separates_two_stories_glued_together():
    a = [Counter({"barrier": 3.0, "tidal": 1.0, "harbour": 1.0, f"x{n}": 1.0}) for n in range(30)]
    b = [Counter({"comet": 3.0, "orbit": 1.0, "telescope": 1.0, f"y{n}": 1.0}) for n in range(30)]
    engine = StoryClusterer(Vocabulary(), ClusterParams(split_min=10, merge_floor=2.0, absorb=2.0))
    for d in a + b:
        engine.vocab.observe(d)
    engine.touched.add(engine.load_story(None, [(n, d, 0.0) for n, d in enumerate(a + b)]))  # all in one story
    engine.maintain()
    assert state(engine)[1] == [list(range(30)), list(range(30, 60))]


def test_tiny_stories_fold_into_their_nearest_story():
    docs = topic("a", 18, 6)
    strays = [Counter(["a1", "a2", f"z{n}", f"y{n}", f"x{n}"]) for n in range(2)]
    # nothing joins or merges on its own: only folding moves the strays
    engine = StoryClusterer(Vocabulary(), ClusterParams(join=0.99, merge_floor=2.0))
    for d in docs + strays:
        engine.vocab.observe(d)
    big = engine.load_story("big", [(n, d, 0.0) for n, d in enumerate(docs)])
    tiny = engine.load_story(None, [(18, strays[0], 0.0), (19, strays[1], 0.0)])
    engine.touched |= {big, tiny}
    engine.maintain()
    assert tiny not in engine.members and len(engine.members[big]) == 20


def test_maintenance_after_a_run_weighs_again_only_the_stories_new_items_joined():
    """As the pipeline runs it: stories loaded from the store, a new item, maintenance. The story the item joined
    is weighed with the vocabulary as it is now; a story nobody touched keeps the weights it was loaded with."""
    rng = random.Random(5)
    topics = {name: [f"{name}{n}" for n in range(10)] for name in "ab"}
    loaded = {name: [Counter(rng.sample(words, 5)) for _ in range(12)] for name, words in topics.items()}
    vocabulary = Vocabulary()
    for docs in loaded.values():
        for d in docs:
            vocabulary.observe(d)
    engine = StoryClusterer(vocabulary, ClusterParams())
    first, second = (engine.load_story(name, [(f"{name}{n}", d, 0.0) for n, d in enumerate(docs)])
                     for name, docs in loaded.items())
    for n in range(2):  # the first weighs the loaded stories; the second moves the IDF after that
        newcomer = Counter(topics["a"][n:n + 4])
        vocabulary.observe(newcomer)
        assert engine.add(f"new{n}", newcomer, observe=False) == first
    centroid = dict(engine.centroid(second))
    engine.maintain()

    def weighed_now(k):
        total = Counter()
        for i in engine.members[k]:
            total.update(engine.vocab.vector(engine.docs[i]))
        return total

    now = weighed_now(first)
    assert engine.centroid(first).keys() == now.keys()
    assert all(engine.centroid(first)[t] == pytest.approx(x, abs=1e-12) for t, x in now.items())
    assert engine.centroid(second) == centroid
    assert weighed_now(second) != pytest.approx(centroid)  # the IDF did move


def test_items_with_embeddings_are_weighed_as_the_streaming_pass_blends_them():
    rng = random.Random(7)
    docs = topic("a", 10, 8)
    dense = [[rng.uniform(-1, 1) for _ in range(4)] for _ in docs]
    dense = [[x / sqrt(sum(y * y for y in d)) for x in d] for d in dense]
    engine = StoryClusterer(Vocabulary(), ClusterParams(), lexical_weight=0.6)
    for n, (d, e) in enumerate(zip(docs, dense, strict=True)):
        engine.add(n, d, dense=e if n % 3 else None)  # some items come without an embedding
    engine.maintain()
    for k, members in engine.members.items():
        want = Counter()
        for i in members:
            lexical = engine.vocab.vector(engine.docs[i])
            want.update(blend(lexical, engine.dense[i], 0.6) if engine.dense[i] is not None else lexical)
        got = engine.centroid(k)
        assert got.keys() == want.keys() and all(got[t] == pytest.approx(x, abs=1e-12) for t, x in want.items())


# --- the dev data -------------------------------------------------------------------------------------------

GOOGLENEWS = Path(__file__).resolve().parents[2] / "shared" / "eval-data" / "googlenews-dev"


@pytest.mark.skipif(not GOOGLENEWS.exists(), reason="needs ../shared/eval-data/googlenews-dev, present in CI only")
def test_dev_split_clusters_the_same_with_held_and_chunked_matrices(monkeypatch):
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

    held = run()
    monkeypatch.setattr(maintenance, "HELD_CELLS", 0)
    monkeypatch.setattr(maintenance, "CHUNK_CELLS", 100_000)
    assert held == run()


def test_the_cycle_collector_is_held_off_while_clustering_and_restored_after():
    import gc

    assert gc.isenabled()
    with no_cycle_collection():
        assert not gc.isenabled()
        engine = build(stream(50, 1))
        engine.maintain()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), no_cycle_collection():
        raise ZeroDivisionError("an error inside")
    assert gc.isenabled()  # an error on the way out restores it too
    gc.disable()
    try:
        with no_cycle_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that had turned it off keeps it off
    finally:
        gc.enable()
