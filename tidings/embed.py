"""Vectorisers: text to sparse term weights that can be compared by cosine.

The lexical vectoriser is TF-IDF over words with the title weighted higher; its document frequencies grow one
item at a time, so a vector only ever uses what has been seen so far (nothing peeks at the future).
"""

from __future__ import annotations

import math
from collections import Counter

from tidings.text import tokens

Vector = dict[str, float]

TITLE_WEIGHT = 3.0  # a title says what an article is about more densely than its body
MAX_TEXT_TOKENS = 30  # title and lead carry the story; the tail of an article drifts to other subjects
MAX_CENTROID_TERMS = 300  # a story's profile keeps its strongest terms only


class LexicalVectoriser:
    def __init__(self, documents: int = 0, df: dict[str, int] | None = None) -> None:
        self.documents = documents
        self.df: dict[str, int] = dict(df or {})

    def counts(self, title: str, text: str = "") -> dict[str, float]:
        """Raw weighted term counts of one document (title terms count TITLE_WEIGHT times)."""
        out: Counter[str] = Counter()
        for term in tokens(title):
            out[term] += TITLE_WEIGHT
        for term in tokens(text)[:MAX_TEXT_TOKENS]:
            out[term] += 1.0
        return dict(out)

    def add(self, counts: dict[str, float]) -> None:
        """Count one more document in the document frequencies."""
        self.documents += 1
        for term in counts:
            self.df[term] = self.df.get(term, 0) + 1

    def idf(self, term: str) -> float:
        return math.log((1 + self.documents) / (1 + self.df.get(term, 0))) + 1.0

    def weigh(self, counts: dict[str, float]) -> Vector:
        """Sublinear TF times IDF, L2-normalised."""
        vec = {t: (1.0 + math.log(c)) * self.idf(t) for t, c in counts.items() if c > 0}
        norm = math.sqrt(sum(v * v for v in vec.values()))
        return {t: v / norm for t, v in vec.items()} if norm else {}


def cosine(a: Vector, b: Vector) -> float:
    """Cosine of two L2-normalised sparse vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def merge_counts(centroid: dict[str, float], counts: dict[str, float]) -> dict[str, float]:
    """A story's profile after one more member, trimmed to its strongest terms."""
    merged = dict(centroid)
    for term, c in counts.items():
        merged[term] = merged.get(term, 0.0) + c
    if len(merged) > MAX_CENTROID_TERMS:
        merged = dict(sorted(merged.items(), key=lambda kv: -kv[1])[:MAX_CENTROID_TERMS])
    return merged
