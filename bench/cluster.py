"""Story clustering: tidings' streaming clusterer beside scikit-learn, and its cost as the store grows.

Part 1, on ../shared/eval-data/googlenews-dev (TS, T and S), on the same vectors: tidings' incremental clusterer
(one streaming pass plus its maintenance pass, as the pipeline runs it; in file order and shuffled, as the quality
gates run it) beside scikit-learn KMeans (k = the true count) and agglomerative clustering (average linkage, cosine,
k = the true count, on a 200-dimension SVD of the vectors, since it needs dense input). The batch methods get the
whole file's IDF; tidings sees only the past. Throughput is items per second of wall time, as `tidings eval
cluster` reports it, and of processor time (steadier on a busy machine). Beside them, the floor measured in the same
run: the same items only read into words and weighed (TF-IDF, the vocabulary growing one item at a time), which
any streaming lexical clusterer must do; the clusterer's time as a multiple of it tells a slower clusterer from a
slower machine. And the clusterer this one replaced, read from git (`--baseline REV`) and run on the same items in
the same run, as `tidings eval cluster` ran it: the speed-up is a ratio of two figures taken minutes apart.

Part 2, the cost growth: the time the cluster stage takes to place 1,000 new items into a SQLite store already
holding 1k, 10k and 100k items, arriving at 1,000 a day (the default 4-day window and 30-day revival window);
each day's texts are Google News items whose words carry the weekday, so stories are new each day and come back,
dormant, a week later.

    python bench/cluster.py [--sizes 1000,10000,100000] [--skip-growth] [--splits TS,T,S] [--baseline REV]
                            [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # bench/baseline.py, also when this file is loaded from elsewhere

from baseline import module_at  # noqa: E402

from tidings.config import Settings  # noqa: E402
from tidings.evaluate import evaluate_clustering, read_labelled  # noqa: E402
from tidings.metrics import cluster_scores  # noqa: E402

DATA = ROOT.parent / "shared" / "eval-data" / "googlenews-dev"
BASELINE = "d00285f"  # the last revision with the streaming clusterer this one replaced


def load_baseline(rev: str) -> types.ModuleType | None:
    """The old clusterer module, loaded from git beside the current code (with today's words and weights)."""
    return module_at(rev, "tidings/clusterer.py", "baseline_clusterer")


def baseline_run(module: types.ModuleType, rows: list) -> tuple[dict, float]:
    """The old clusterer over the rows in file order, as `tidings eval cluster` ran it then: scores and seconds."""
    from tidings.clusterer import Vocabulary
    from tidings.embed import LexicalVectoriser

    settings = Settings()
    counts = LexicalVectoriser().counts
    start = time.perf_counter()
    engine = module.StoryClusterer(Vocabulary(), module.ClusterParams(join=settings.cluster_threshold,
                                                                      revive=settings.revive_threshold))
    for n, row in enumerate(rows):
        engine.add(n, counts("", row.text), 0.0)
    engine.maintain()
    seconds = time.perf_counter() - start
    labels = engine.labels()
    return {**cluster_scores([r.cluster for r in rows], labels), "stories": len(set(labels))}, seconds


def batch_baselines(name: str) -> list[tuple[str, dict, float]]:
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.decomposition import TruncatedSVD

    from tidings.clusterer import Vocabulary
    from tidings.embed import LexicalVectoriser

    rows = read_labelled(DATA / f"{name}.jsonl")
    counts = [LexicalVectoriser().counts("", r.text) for r in rows]
    vocabulary = Vocabulary()
    for c in counts:
        vocabulary.observe(c)
    start = time.perf_counter()
    vectors = [vocabulary.vector(c) for c in counts]  # the same weighting, with the whole file's IDF
    columns = {t: j for j, t in enumerate(sorted(vocabulary.df))}
    data, indices, indptr = [], [], [0]
    for v in vectors:
        for t, a in v.items():
            indices.append(columns[t])
            data.append(a)
        indptr.append(len(indices))
    matrix = csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=(len(rows), len(columns)))
    vectorise = time.perf_counter() - start
    truth = [r.cluster for r in rows]
    k = len(set(truth))
    out = []
    start = time.perf_counter()
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(matrix)
    out.append(("KMeans (true k)", cluster_scores(truth, labels), time.perf_counter() - start + vectorise))
    start = time.perf_counter()
    dense = TruncatedSVD(n_components=200, random_state=0).fit_transform(matrix)
    dense[np.linalg.norm(dense, axis=1) == 0, 0] = 1e-9  # an empty text has no direction; cosine needs one
    labels = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(dense)
    out.append(("agglomerative (true k)", cluster_scores(truth, labels), time.perf_counter() - start + vectorise))
    return out


def words_floor(rows: list) -> float:
    """Seconds to read the items into words and weigh them, one at a time as a stream sees them: the part of a
    streaming lexical clusterer's work that placing the items adds to. The best of three runs."""
    from tidings.clusterer import Vocabulary
    from tidings.embed import LexicalVectoriser

    best = float("inf")
    for _ in range(3):
        counts = LexicalVectoriser().counts
        start = time.perf_counter()
        vocabulary = Vocabulary()
        for row in rows:
            c = counts("", row.text)
            vocabulary.observe(c)
            vocabulary.vector(c)
        best = min(best, time.perf_counter() - start)
    return best


def quality(names: list[str], baseline: types.ModuleType | None, rev: str, repeat: int) -> None:
    if not DATA.exists():
        print(f"skipping part 1: {DATA} is not here")
        return
    for name in names:
        rows = read_labelled(DATA / f"{name}.jsonl")
        print(f"\n{name}.jsonl ({len(rows):,} items)")
        evaluate_clustering(rows[:300])  # warm up: imports, first calls
        ours_time = None
        floor = words_floor(rows)
        print(f"  {'floor: words and weights':<24} {'':<45} {floor:6.2f} s  {len(rows) / floor:7,.0f} items/s")
        for order in ("file", "shuffled"):
            wall = cpu = float("inf")
            for _ in range(repeat):
                started = time.process_time()
                ours = evaluate_clustering(rows, order)
                cpu = min(cpu, time.process_time() - started)
                wall = min(wall, ours["items"] / ours["items_per_s"])
            ours_time = ours_time or wall
            print(f"  {'tidings, ' + order + ' order':<24} NMI {ours['nmi']:.3f}  ARI {ours['ari']:.3f}  "
                  f"stories {ours['stories']:>4}  {wall:6.2f} s  {ours['items'] / wall:7,.0f} items/s  "
                  f"({ours['items'] / cpu:,.0f} items/s of processor time; {wall / floor:.1f}x the floor)")
        if baseline is not None:
            runs = [baseline_run(baseline, rows) for _ in range(repeat)]
            scores, seconds = runs[0][0], min(t for _, t in runs)
            print(f"  {'clusterer at ' + rev:<24} NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}  stories "
                  f"{scores['stories']:>4}  {seconds:6.2f} s  "
                  f"{len(rows) / seconds:7,.0f} items/s  (tidings, file order, is {seconds / ours_time:.2f}x as fast)")
        for label, scores, seconds in batch_baselines(name):
            print(f"  {label:<24} NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}  stories "
                  f"{ours['true_stories']:>4}  {seconds:6.2f} s  {len(rows) / seconds:7,.0f} items/s  "
                  f"(tidings, file order, takes {ours_time / seconds:.2f}x)")


def growth(sizes: list[int]) -> None:
    from tidings import dedupe
    from tidings.cluster import assign
    from tidings.model import Digest, Entry, Source
    from tidings.store import Store

    texts = [json.loads(line)["text"] for line in (DATA / "TS.jsonl").read_text().splitlines()] \
        if DATA.exists() else [f"story {n % 97} words {n % 13} more {n}" for n in range(5000)]
    settings = Settings(near_duplicate_threshold=1.0)
    start_day = datetime(2026, 1, 1, tzinfo=UTC)
    print("\ncost of placing 1,000 new items (cluster stage, SQLite store, 1,000 items a day)")
    results = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            store = Store(str(Path(folder) / "bench.db"))
            store.sync_digests([Digest("news", "News")])
            source = store.upsert_source(Source(url="bench://feed", name="Bench", digests=("news",)), start_day)
            n = 0
            seconds = 0.0
            for day in range(size // 1000 + 1):
                when = start_day + timedelta(days=day)
                batch = []
                for j in range(1000):
                    # Each day's words carry the weekday: a day's stories are its own, and a story comes back a
                    # week later (dormant by then, so it can only be revived), as news does.
                    text = " ".join(f"{word}{day % 7}" for word in texts[n % len(texts)].split())
                    entry = Entry(url=f"https://bench.example/{n}", title="", text=text,
                                  publisher="Bench", published=when + timedelta(seconds=j))
                    batch.append(dedupe.keyed(entry, source.id))
                    n += 1
                store.ingest(source, batch, when)
                started = time.perf_counter()
                assign(store, settings, store.digests(), store.sources(), when)
                seconds = time.perf_counter() - started  # the last day's batch is the one measured
            results[size] = seconds
            print(f"  store of {size:>7,} items: {seconds:6.2f} s for 1,000 new items")
            store.close()
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"  ratio {large:,} vs {small:,}: {results[large] / results[small]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--skip-growth", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--splits", default="TS,T,S", help="googlenews-dev files for part 1")
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the clusterer to compare with")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each clustering; the best time is printed")
    args = parser.parse_args()
    if not args.skip_quality:
        baseline = load_baseline(args.baseline)
        if baseline is None:
            print(f"baseline clusterer ({args.baseline}) not found in git: only the current one is timed")
        quality(args.splits.split(","), baseline, args.baseline, max(1, args.repeat))
    if not args.skip_growth:
        growth([int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
