"""Learned check-worthiness: logistic regression over hashed word unigrams and bigrams plus a few cues.

The weights ship in `tidings/data/checkworthy.npz`, trained by `scripts/train_checkworthy.py` on a
CheckThat!-format folder (one debate per TSV file: line, speaker, text, label). `evaluate` scores a folder by
mean average precision over its debates, with R-precision and precision at 10, beside a trivial baseline
(longer sentences first), and can re-train leave-one-debate-out.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from tidings.errors import TidingsError

HASH_DIM = 2 ** 16
_WORD = re.compile(r"[a-z0-9$%']+")
_CUES = (re.compile(r"\d"), re.compile(r"%|\bpercent\b"), re.compile(r"\b(million|billion|trillion)\b"),
         re.compile(r"\b(more|less|fewer|than|most|least|first|only|every|never|always|record)\b"))
N_CUES = len(_CUES) + 2  # the patterns, a length feature, a "very short" flag
DIM = HASH_DIM + N_CUES


class CheckworthyDataError(TidingsError, ValueError):
    """A CheckThat!-format folder that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Sentence:
    text: str
    label: int


def _slot(kind: str, *words: str) -> int:
    return zlib.crc32(("\x1f".join((kind, *words))).encode()) % HASH_DIM


def features(text: str) -> tuple[list[int], list[float]]:
    """(active hashed word slots, cue values) of one sentence."""
    lower = text.lower()
    words = _WORD.findall(lower)
    slots = {_slot("u", w) for w in words} | {_slot("b", a, b) for a, b in zip(words, words[1:], strict=False)}
    cues = [1.0 if p.search(lower) else 0.0 for p in _CUES]
    cues += [min(len(words), 60) / 60, 1.0 if len(words) < 6 else 0.0]
    return sorted(slots), cues


def matrix(texts: list[str]):
    from scipy.sparse import csr_matrix

    data, cols, rows = [], [], [0]
    for text in texts:
        slots, cues = features(text)
        cols += slots
        data += [1.0] * len(slots)
        for j, value in enumerate(cues):
            if value:
                cols.append(HASH_DIM + j)
                data.append(value)
        rows.append(len(cols))
    return csr_matrix((np.array(data), np.array(cols, dtype=np.int64), np.array(rows)), shape=(len(texts), DIM))


def train(texts: list[str], labels: list[int], epochs: int = 30, rate: float = 0.5, l2: float = 1e-4
          ) -> tuple[np.ndarray, float]:
    """Class-balanced logistic regression by full-batch gradient descent (deterministic)."""
    x, y = matrix(texts), np.asarray(labels, dtype=float)
    positive = max(y.mean(), 1e-9)
    weight = np.where(y == 1, 0.5 / positive, 0.5 / max(1 - positive, 1e-9))
    w, b = np.zeros(DIM), 0.0
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) * weight
        w -= rate * (x.T @ g / len(y) + l2 * w)
        b -= rate * g.mean()
    return w, float(b)


class Model:
    def __init__(self, weights: np.ndarray, bias: float) -> None:
        self.weights, self.bias = weights, bias

    @classmethod
    def shipped(cls) -> Model:
        with resources.files("tidings").joinpath("data/checkworthy.npz").open("rb") as f:
            data = np.load(f)
            return cls(data["weights"].astype(float), float(data["bias"]))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, weights=self.weights.astype(np.float32), bias=np.float32(self.bias))

    def scores(self, texts: list[str]) -> np.ndarray:
        return matrix(texts) @ self.weights + self.bias

    def probability(self, text: str) -> float:
        """One sentence, without building a sparse matrix: a sum over its active slots."""
        slots, cues = features(text)
        z = self.bias + float(self.weights[slots].sum()) + float(np.dot(self.weights[HASH_DIM:], cues))
        return float(1 / (1 + np.exp(-z)))


_shipped: Model | None = None


def learned_probability(text: str) -> float:
    global _shipped
    if _shipped is None:
        _shipped = Model.shipped()
    return _shipped.probability(text)


# --- data and evaluation ------------------------------------------------------------------------------------

def read_folder(folder: str | Path) -> dict[str, list[Sentence]]:
    """Debates of a CheckThat!-format folder: TSV lines `line <TAB> speaker <TAB> text <TAB> label`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckworthyDataError(f"{folder}: not a folder")
    debates = {}
    for path in sorted(folder.glob("*.tsv")):
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 4 or parts[-1].strip() not in ("0", "1"):
                raise CheckworthyDataError(f"{path}:{number}: expected line, speaker, text and a 0/1 label")
            rows.append(Sentence(parts[2], int(parts[-1])))
        debates[path.stem] = rows
    if not debates:
        raise CheckworthyDataError(f"{folder}: no .tsv debates")
    return debates


def _ranking_scores(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    order = np.argsort(-scores, kind="stable")
    ranked = labels[order]
    relevant = int(labels.sum())
    if relevant == 0:
        return 0.0, 0.0, 0.0
    hits = np.cumsum(ranked)
    precision = hits / np.arange(1, len(ranked) + 1)
    average_precision = float((precision * ranked).sum() / relevant)
    return average_precision, float(hits[relevant - 1] / relevant), float(hits[min(10, len(ranked)) - 1] / 10)


def evaluate(debates: dict[str, list[Sentence]], leave_one_out: bool = False) -> dict[str, float]:
    """Mean over debates of average precision, R-precision and P@10; `baseline_map` ranks longer sentences
    first. With `leave_one_out`, each debate is scored by a model trained on all the others."""
    model = None if leave_one_out else Model.shipped()
    results, baseline = [], []
    for name, rows in debates.items():
        texts = [r.text for r in rows]
        labels = np.array([r.label for r in rows])
        if leave_one_out:
            others = [r for other, rs in debates.items() if other != name for r in rs]
            model = Model(*train([r.text for r in others], [r.label for r in others]))
        results.append(_ranking_scores(model.scores(texts), labels))
        baseline.append(_ranking_scores(np.array([len(t) for t in texts], dtype=float), labels)[0])
    return {"map": float(np.mean([r[0] for r in results])), "r_precision": float(np.mean([r[1] for r in results])),
            "p_at_10": float(np.mean([r[2] for r in results])), "baseline_map": float(np.mean(baseline)),
            "debates": len(debates)}
