"""Re-train the shipped check-worthiness rankers (tidings/data/checkworthy.npz) on a CheckThat!-format folder.

    python scripts/train_checkworthy.py ../shared/eval-data/checkthat2019-train
    python scripts/train_checkworthy.py ../shared/eval-data/checkthat2019-train --compare [--minilm]

The first form trains the lexical ranker and, with the semantic extra installed, the semantic one on every debate
of the folder, saves them, and prints each one's leave-one-debate-out MAP beside the length baseline.

`--compare` saves nothing: it prints the MAP of every feature set that was considered, under three splits, each
beside the length baseline on the same debates:
  loo    leave one debate out (19 folds here);
  time   train on the 2016 debates, test on the later ones (debates are named by date);
  event  train on the multi-candidate debates, test on the speeches and press events, and the other way round.
The last two hold out whole periods or kinds of event, as a new debate would be, so a feature set that only
remembers the training debates' topics and phrasing scores worse there. `--minilm` adds full MiniLM sentence
vectors (runs the transformer on every sentence: about a minute).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tidings import semantic  # noqa: E402
from tidings.check import checkworthy as cw  # noqa: E402

# Multi-candidate debates; the rest of the 2019 training set are speeches, press conferences and interviews.
DEBATE_EVENTS = ("20160209_msnbc_dem", "20160226_10_gop", "20160414_9dem", "20160926_1pres", "20161005_vice_pres",
                 "20161010_2pres", "20161019_3pres")


def splits(names: list[str]) -> dict[str, list[tuple[list[str], list[str]]]]:
    debates = [n for n in names if n in DEBATE_EVENTS]
    others = [n for n in names if n not in DEBATE_EVENTS]
    out = {"loo": cw.leave_one_debate_out(names)}
    early, late = [n for n in names if n[:4] <= "2016"], [n for n in names if n[:4] > "2016"]
    if early and late:
        out["time"] = [(early, late)]
    if debates and others:
        out["event"] = [(debates, others), (others, debates)]
    return out


# --- feature blocks for --compare: each maps the training rows (a mask) to a matrix over every sentence --------

Block = Callable[[np.ndarray], object]


class Corpus:
    def __init__(self, debates: dict[str, list[cw.Sentence]]) -> None:
        self.debates = debates
        self.rows = [(name, i, s) for name, rows in debates.items() for i, s in enumerate(rows)]
        self.texts = [s.text for _, _, s in self.rows]
        self.labels = np.array([s.label for _, _, s in self.rows])
        self.debate = np.array([name for name, _, _ in self.rows])
        self._cache: dict[str, object] = {}

    def cached(self, key: str, make: Callable[[], object]):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """Index of each sentence's previous and next sentence in its debate, or -1."""
        same_prev = np.r_[False, self.debate[1:] == self.debate[:-1]]
        same_next = np.r_[self.debate[:-1] == self.debate[1:], False]
        index = np.arange(len(self.rows))
        return np.where(same_prev, index - 1, -1), np.where(same_next, index + 1, -1)


def standardised(values: np.ndarray, weight: float) -> Block:
    def block(train: np.ndarray) -> np.ndarray:
        spread = values[train].std(axis=0)
        return (values - values[train].mean(axis=0)) / np.where(spread > 0, spread, 1.0) * weight
    return block


def cue_block(corpus: Corpus, weight: float) -> Block:
    return standardised(corpus.cached("cues", lambda: cw.cue_matrix(corpus.texts)), weight)


def ngram_block(corpus: Corpus, normalised: bool, weight: float = 1.0) -> Block:
    def make():
        words = cw.lexical_matrix(corpus.texts)
        if not normalised:
            words.data[:] = 1.0
        return words * weight
    matrix = corpus.cached(f"ngrams{normalised}{weight}", make)
    return lambda train: matrix


def piece_block(corpus: Corpus) -> Block:
    encoded = corpus.cached("pieces", lambda: cw.pieces().encode(corpus.texts))

    def block(train: np.ndarray) -> np.ndarray:
        idf = cw.piece_idf([e for e, t in zip(encoded, train, strict=True) if t], cw.pieces().vocabulary)
        return cw.pieces().vectors(encoded, idf)
    return block


def neighbour_piece_block(corpus: Corpus, weight: float) -> Block:
    vectors = piece_block(corpus)
    previous, following = corpus.neighbours()

    def block(train: np.ndarray) -> np.ndarray:
        own = np.vstack([vectors(train), np.zeros((1, semantic.DIMENSION), dtype=np.float32)])  # row -1: none
        return (own[previous] + own[following]) * weight
    return block


def turn_block(corpus: Corpus, weight: float) -> Block:
    """Where a sentence sits in its speaker's turn: first (an answer or a new topic), last, how far in."""
    def make():
        speakers = [s.speaker for _, _, s in corpus.rows]
        previous, following = corpus.neighbours()
        values, position = [], 0
        for i, speaker in enumerate(speakers):
            first = previous[i] < 0 or speakers[previous[i]] != speaker
            position = 0 if first else position + 1
            last = following[i] < 0 or speakers[following[i]] != speaker
            values.append([float(first), float(last), min(position, 10) / 10])
        return np.array(values)
    return standardised(corpus.cached("turns", make), weight)


def minilm_block(corpus: Corpus) -> Block:
    vectors = corpus.cached("minilm", lambda: semantic.SemanticVectoriser(threads=2).embed(corpus.texts))
    return lambda train: vectors


def evaluate_blocks(corpus: Corpus, blocks: list[Block], c: float,
                    folds: list[tuple[list[str], list[str]]]) -> tuple[float, float]:
    """(MAP, length-baseline MAP) over the tested debates of the folds."""
    from scipy.sparse import csr_matrix, hstack, issparse

    ap, baseline = [], []
    for training, tested in folds:
        train = np.isin(corpus.debate, training)
        parts = [b(train) for b in blocks]
        x = hstack([p if issparse(p) else csr_matrix(p) for p in parts]).tocsr() if any(
            issparse(p) for p in parts) else np.hstack(parts)
        weights, bias = cw.logistic(x[train], corpus.labels[train], c)
        scores = np.asarray(x @ weights + bias)
        for name in tested:
            rows = corpus.debate == name
            ap.append(cw.ranking_scores(scores[rows], corpus.labels[rows])[0])
            baseline.append(cw.ranking_scores(cw.length_scores(
                [t for t, r in zip(corpus.texts, rows, strict=True) if r]), corpus.labels[rows])[0])
    return float(np.mean(ap)), float(np.mean(baseline))


def options(corpus: Corpus, minilm: bool) -> list[tuple[str, Callable[[list], tuple[float, float]]]]:
    """(label, folds -> (MAP, baseline)) for every feature set; the shipped two go through evaluate_folds."""
    def blocks(c: float, *make: Callable[[], Block]):
        return lambda folds: evaluate_blocks(corpus, [m() for m in make], c, folds)

    def shipped(kind: str):
        def run(folds):
            result = cw.evaluate_folds(corpus.debates, folds, kind)
            return result["map"], result["baseline_map"]
        return run

    out = [
        ("word n-grams, binary (the previous ranker's features)", blocks(0.01, lambda: ngram_block(corpus, False))),
        ("word n-grams, unit-length rows", blocks(1.0, lambda: ngram_block(corpus, True))),
        ("claim cues", blocks(0.01, lambda: cue_block(corpus, 1.0))),
        ("word n-grams + claim cues [shipped: lexical]", shipped("lexical")),
    ]
    if semantic.available():
        cues = lambda: cue_block(corpus, cw.SEMANTIC_CUE_WEIGHT)  # noqa: E731
        pieces = lambda: piece_block(corpus)  # noqa: E731
        out += [
            ("word-piece embeddings", blocks(cw.SEMANTIC_C, pieces)),
            ("word-piece embeddings + claim cues [shipped: semantic]", shipped("semantic")),
            ("word-piece embeddings + claim cues + word n-grams", blocks(
                cw.SEMANTIC_C, pieces, cues, lambda: ngram_block(corpus, True, 0.5))),
            ("word-piece embeddings + claim cues + turn position", blocks(
                cw.SEMANTIC_C, pieces, cues, lambda: turn_block(corpus, 0.1))),
            ("word-piece embeddings + claim cues + neighbours' embeddings", blocks(
                cw.SEMANTIC_C, pieces, cues, lambda: neighbour_piece_block(corpus, 0.3))),
        ]
        if minilm:
            sentence = lambda: minilm_block(corpus)  # noqa: E731
            out += [
                ("MiniLM sentence vectors", blocks(0.1, sentence)),
                ("MiniLM sentence vectors + claim cues", blocks(0.1, sentence, cues)),
                ("MiniLM sentence vectors + word-piece embeddings + claim cues", blocks(0.05, sentence, pieces, cues)),
            ]
    return out


def compare(debates: dict[str, list[cw.Sentence]], minilm: bool) -> None:
    corpus = Corpus(debates)
    folds = splits(list(debates))
    print(f"{len(debates)} debates, {len(corpus.texts)} sentences, {int(corpus.labels.sum())} check-worthy")
    header = "  ".join(f"{name:>13}" for name in folds)
    print(f"{'features':<66}{header}   (MAP / length-baseline MAP on the same debates)")
    for label, run in options(corpus, minilm):
        start = time.perf_counter()
        cells = []
        for split in folds.values():
            found, baseline = run(split)
            cells.append(f"{found:.4f}/{baseline:.4f}")
        print(f"{label:<66}{'  '.join(f'{c:>13}' for c in cells)}   {time.perf_counter() - start:.0f} s", flush=True)


def train_and_save(debates: dict[str, list[cw.Sentence]]) -> None:
    rows = [r for rs in debates.values() for r in rs]
    texts, labels = [r.text for r in rows], [r.label for r in rows]
    kinds = [k for k in cw.KINDS if k == "lexical" or semantic.available()]
    if "semantic" not in kinds:
        sys.exit(f"the semantic extra is not installed, and the shipped weights need both rankers: "
                 f"{semantic.INSTALL_HINT}")
    model = cw.Model({kind: cw.train(texts, labels, kind) for kind in kinds})
    out = ROOT / "tidings" / "data" / "checkworthy.npz"
    model.save(out)
    print(f"trained {', '.join(kinds)} on {len(rows)} sentences from {len(debates)} debates -> {out} "
          f"({out.stat().st_size / 1024:.0f} KiB)")
    for kind in kinds:
        result = cw.evaluate(debates, leave_one_out=True, features=kind)
        print(f"{kind:>8}: leave-one-debate-out MAP {result['map']:.4f}  R-precision {result['r_precision']:.4f}  "
              f"P@10 {result['p_at_10']:.4f}  (baseline, longer sentences first: MAP {result['baseline_map']:.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="CheckThat!-format folder: one TSV file per debate")
    parser.add_argument("--compare", action="store_true", help="print the feature sets' MAPs; save nothing")
    parser.add_argument("--minilm", action="store_true", help="with --compare: also full MiniLM sentence vectors")
    args = parser.parse_args()
    try:
        debates = cw.read_folder(args.folder)
    except cw.CheckworthyDataError as exc:
        sys.exit(str(exc))
    if args.compare:
        compare(debates, args.minilm)
    else:
        train_and_save(debates)


if __name__ == "__main__":
    main()
